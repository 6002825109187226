import { networkPrefix } from '../../src/lib/network-prefix';

describe('networkPrefix', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0/24'],
    ['127.0.0.1', '127.0.0.0/24'],
    ['::ffff:198.51.100.9', '198.51.100.0/24'],
    ['::FFFF:198.51.100.9', '198.51.100.0/24'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::/48'],
    ['2001:0DB8:0001:ffff::1', '2001:db8:1::/48'],
    ['2001:db8::1', '2001:db8::/48'],
    ['2001::7', '2001::/48'],
    ['::1', '::/48'],
    ['fe80::1%eth0', 'fe80::/48'],
    ['[2001:db8:aa:bb::1]', '2001:db8:aa::/48'],
    ['::ffff:0:198.51.100.9', '::/48'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3::/48'],
  ])('when the client is %s, then the log keeps only %s', (ip, prefix) => {
    expect(networkPrefix(ip)).toBe(prefix);
  });

  it.each([[''], [undefined], ['not an ip'], ['300.1.2.3'], ['1.2.3']])('when the address is %p, then there is no prefix', (ip) => {
    expect(networkPrefix(ip)).toBeNull();
  });

  it('when two clients share a /24 (or a /48), then they share the prefix, and the host part never shows', () => {
    expect(networkPrefix('192.0.2.1')).toBe(networkPrefix('192.0.2.254'));
    expect(networkPrefix('2001:db8:1:2::1')).toBe(networkPrefix('2001:db8:1:ffff::ffff'));
    expect(networkPrefix('192.0.2.1')).not.toContain('.1/');
  });
});
