import { budgetKey } from '../../src/lib/client-address';

describe('budgetKey: the unit a per-IP budget counts', () => {
  it.each<[string, string, string]>([
    ['two addresses of one IPv6 /64', '2001:db8:1:2::a', '2001:db8:1:2:ffff:ffff:ffff:ffff'],
    ['a compressed and an expanded spelling of one IPv6 address', '2001:db8::1', '2001:0db8:0000:0000:0000:0000:0000:0001'],
    ['an IPv4 address and its IPv4-mapped IPv6 form', '192.0.2.7', '::ffff:192.0.2.7'],
    ['an IPv4-mapped address in hexadecimal and its IPv4 form', '::ffff:c000:207', '192.0.2.7'],
    ['an IPv6 address with and without a zone', 'fe80::1%eth0', 'fe80::2'],
  ])('when the addresses are %s, then they share one budget', (_case, a, b) => {
    expect(budgetKey(a)).toBe(budgetKey(b));
  });

  it.each<[string, string, string]>([
    ['two IPv6 /64s next to each other', '2001:db8:1:2::a', '2001:db8:1:3::a'],
    ['two IPv4 addresses of one /24', '192.0.2.7', '192.0.2.8'],
    ['an IPv4 address and an IPv6 address holding its bits outside ::ffff:0:0/96', '192.0.2.7', '::c000:207'],
  ])('when the addresses are %s, then each has its own budget', (_case, a, b) => {
    expect(budgetKey(a)).not.toBe(budgetKey(b));
  });

  it('when an IPv6 address is keyed, then the key names its /64 network', () => {
    expect(budgetKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(budgetKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
  });
});
