import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { LIMITS, RateLimits, type Budgets } from '../../src/lib/rate-limits';
import { assertRedisAnswers, describeWith, redisRequirement } from '../helpers/services';

/** Small budgets so a test spends them in a few calls. */
const BUDGETS: Budgets = { ...LIMITS, clientSaltSeedPerIp: { points: 2, durationSeconds: 60 }, passwordFailuresPerAccount: { points: 2, durationSeconds: 60 } };

async function outcome(attempt: Promise<void>): Promise<string> {
  try {
    await attempt;
    return 'allowed';
  } catch (error) {
    return (error as { extensions?: { code?: string }; code?: string }).extensions?.code ?? (error as { code?: string }).code ?? String(error);
  }
}

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

describeWith([redisRequirement()], 'budgets in a shared Redis', () => {
  const redisUrl = process.env.REDIS_URL!;
  let redis: Redis;
  const prefixes: string[] = [];
  const newPrefix = () => {
    const prefix = `test-${randomBytes(6).toString('hex')}:`;
    prefixes.push(prefix);
    return prefix;
  };

  beforeAll(async () => {
    await assertRedisAnswers(redisUrl);
    redis = new Redis(redisUrl);
    // The limiters fall back to memory while their client is not ready: start with it ready.
    await redis.ping();
  });
  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  });

  it('when two limiters use one prefix, then they share budgets; with different prefixes, then nothing', async () => {
    const shared = newPrefix();
    const a = new RateLimits(BUDGETS, true, { client: redis, prefix: shared });
    const b = new RateLimits(BUDGETS, true, { client: redis, prefix: shared });
    const other = new RateLimits(BUDGETS, true, { client: redis, prefix: newPrefix() });
    const ip = '2001:db8:77:1::1';
    expect(await outcome(a.consume('clientSaltSeedPerIp', ip))).toBe('allowed');
    expect(await outcome(b.consume('clientSaltSeedPerIp', '2001:db8:77:1::2'))).toBe('allowed');
    expect(await outcome(a.consume('clientSaltSeedPerIp', ip))).toBe('RATE_LIMITED');
    expect(await outcome(other.consume('clientSaltSeedPerIp', ip))).toBe('allowed');
  });

  it('when an account is locked out under one prefix, then it is not under another', async () => {
    const locking = new RateLimits(BUDGETS, true, { client: redis, prefix: newPrefix() });
    const elsewhere = new RateLimits(BUDGETS, true, { client: redis, prefix: newPrefix() });
    const email = `locked-${randomBytes(4).toString('hex')}@example.com`;
    for (let i = 0; i < 3; i += 1) await locking.recordPasswordFailure(email);
    expect(await outcome(locking.assertNotExhausted('passwordFailuresPerAccount', email))).toBe('RATE_LIMITED');
    expect(await outcome(elsewhere.assertNotExhausted('passwordFailuresPerAccount', email))).toBe('allowed');
  });

  it('when budgets are spent, then every key they wrote starts with the prefix and carries the /64, not the address', async () => {
    const prefix = newPrefix();
    const limits = new RateLimits(BUDGETS, true, { client: redis, prefix });
    await limits.consume('clientSaltSeedPerIp', '2001:db8:88:1::abcd');
    await limits.recordPasswordFailure('keyed@example.com');
    const keys = (await redis.keys(`${prefix}*`)).sort();
    expect(keys).toEqual([`${prefix}rate-limit:clientSaltSeedPerIp:2001:db8:88:1::/64`, `${prefix}rate-limit:passwordFailuresPerAccount:keyed@example.com`]);
  });
});
