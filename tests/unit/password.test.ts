import { PasswordHasher } from '../../src/lib/password';
import { DomainError } from '../../src/errors';

describe('PasswordHasher', () => {
  it('when hashing, then argon2id with the configured cost, and verify tells right from wrong', async () => {
    const hasher = new PasswordHasher({ memoryKib: 1024, timeCost: 2, parallelism: 1, maxConcurrent: 2, maxQueued: 10 });
    const hash = await hasher.hash('correct horse');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=1024,p=1,t=2\$/);
    expect(await hasher.verify(hash, 'correct horse')).toBe(true);
    expect(await hasher.verify(hash, 'Correct horse')).toBe(false);
  });

  it('when more hashes arrive than may run and wait, then the excess is refused with RATE_LIMITED instead of queueing', async () => {
    const durations: string[] = [];
    const hasher = new PasswordHasher({ memoryKib: 4096, timeCost: 2, parallelism: 1, maxConcurrent: 1, maxQueued: 2 }, (_s, kind) => durations.push(kind));
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => hasher.hash('password')));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThanOrEqual(5);
    for (const r of refused) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DomainError);
      expect((r as PromiseRejectedResult).reason.code).toBe('RATE_LIMITED');
    }
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeLessThanOrEqual(3);
  });
});
