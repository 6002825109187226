import { RateLimits } from '../../src/lib/rate-limits';
import { BUDGETS, outcome } from '../helpers/rate-limits';

describe('per-IP budgets in memory', () => {
  it.each<[string, string[], string[]]>([
    ['three addresses of one IPv6 /64', ['2001:db8:5:6::1', '2001:db8:5:6::2', '2001:db8:5:6:aaaa::3'], ['allowed', 'allowed', 'RATE_LIMITED']],
    ['an IPv4 address, then its IPv4-mapped form, then the address again', ['198.51.100.4', '::ffff:198.51.100.4', '198.51.100.4'], ['allowed', 'allowed', 'RATE_LIMITED']],
    ['addresses of three different /64s', ['2001:db8:5:6::1', '2001:db8:5:7::1', '2001:db8:5:8::1'], ['allowed', 'allowed', 'allowed']],
    ['three IPv4 addresses of one /24', ['198.51.100.1', '198.51.100.2', '198.51.100.3'], ['allowed', 'allowed', 'allowed']],
  ])('when a budget of 2 is spent from %s (%j), then the answers are %j', async (_case, ips, expected) => {
    const limits = new RateLimits(BUDGETS, true);
    const answers: string[] = [];
    for (const ip of ips) answers.push(await outcome(limits.consume('clientSaltSeedPerIp', ip)));
    expect(answers).toEqual(expected);
  });

  it('when failed passwords from one /64 spend the per-IP failure budget, then another address of it is refused too', async () => {
    const limits = new RateLimits({ ...BUDGETS, loginFailuresPerIp: { points: 1, durationSeconds: 60 } }, true);
    await limits.recordFailure('loginFailuresPerIp', '2001:db8:9:9::1');
    expect(await outcome(limits.assertNotExhausted('loginFailuresPerIp', '2001:db8:9:9::ffff'))).toBe('RATE_LIMITED');
    expect(await outcome(limits.assertNotExhausted('loginFailuresPerIp', '2001:db8:9:a::1'))).toBe('allowed');
  });

  it('when a per-account budget is keyed by an email, then it is counted as given', async () => {
    const limits = new RateLimits(BUDGETS, true);
    await limits.recordPasswordFailure('a@example.com');
    await limits.recordPasswordFailure('a@example.com');
    expect(await outcome(limits.assertNotExhausted('passwordFailuresPerAccount', 'a@example.com'))).toBe('RATE_LIMITED');
    expect(await outcome(limits.assertNotExhausted('passwordFailuresPerAccount', 'b@example.com'))).toBe('allowed');
  });
});
