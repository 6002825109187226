import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import { Semaphore } from 'async-mutex';
import { rateLimited } from '../errors';

/** PASSWORD_HASH_* (config.ts reads them): argon2id's costs and how many hashes may run and wait. */
export interface PasswordHashingConfig {
  /** argon2id memory cost in KiB (OWASP: 19456 = 19 MiB). */
  memoryKib: number;
  /** argon2id iterations (OWASP: 2). */
  timeCost: number;
  parallelism: number;
  /** Hashes allowed to run at once; further ones wait in a queue. */
  maxConcurrent: number;
  /** Hashes allowed to wait; beyond that a request is refused (RATE_LIMITED) instead of queueing without bound. */
  maxQueued: number;
}

/**
 * Slow hashing of login passwords with argon2id. Each hash holds memoryKib of
 * memory on the libuv threadpool, so the number running at once is capped, a
 * bounded number wait their turn, and beyond that requests are refused rather
 * than queueing memory and latency without bound.
 */
export class PasswordHasher {
  private readonly slots: Semaphore;
  private waiting = 0;
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly config: PasswordHashingConfig,
    private readonly observe: (seconds: number, kind: 'hash' | 'verify') => void = () => {},
  ) {
    this.slots = new Semaphore(config.maxConcurrent);
    // Made at start-up, so even the first unknown-email login costs exactly one verification.
    this.dummyHash = this.hash(randomBytes(32).toString('base64'));
  }

  hash(password: string): Promise<string> {
    return this.timed('hash', () =>
      argon2.hash(password, {
        type: argon2.argon2id,
        memoryCost: this.config.memoryKib,
        timeCost: this.config.timeCost,
        parallelism: this.config.parallelism,
      }),
    );
  }

  verify(hash: string, password: string): Promise<boolean> {
    return this.timed('verify', () => argon2.verify(hash, password));
  }

  /**
   * Pays the same price as a real verification, for an email with no account:
   * a login for an unknown email must not answer faster than a wrong password.
   */
  async verifyAgainstDummy(password: string): Promise<false> {
    await this.verify(await this.dummyHash, password);
    return false;
  }

  private async timed<T>(kind: 'hash' | 'verify', work: () => Promise<T>): Promise<T> {
    const mustWait = this.slots.isLocked();
    if (mustWait && this.waiting >= this.config.maxQueued) throw rateLimited(1);
    if (mustWait) this.waiting += 1;
    return this.slots.runExclusive(async () => {
      if (mustWait) this.waiting -= 1;
      const started = process.hrtime.bigint();
      try {
        return await work();
      } finally {
        this.observe(Number(process.hrtime.bigint() - started) / 1e9, kind);
      }
    });
  }
}
