import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RateLimits } from '../../src/lib/rate-limits';
import { BUDGETS, outcome } from '../helpers/rate-limits';
import { assertRedisAnswers, describeWith, redisRequirement } from '../helpers/required-services';

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
