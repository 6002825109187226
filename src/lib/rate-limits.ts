import type Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { rateLimited } from '../errors';
import { budgetKey } from './client-address';

export interface Budget {
  points: number;
  durationSeconds: number;
}

/**
 * The budgets of docs/PROTOCOL.md ("Limits"). Per-IP budgets bound how fast one address can
 * probe; per-account budgets count failed logins only, so a correct password
 * is never refused because of what a stranger did, beyond a bounded lock-out.
 */
export const LIMITS = {
  /** Every login attempt from one IP (argon2 costs the server ~25 ms each). */
  loginPerIp: { points: 30, durationSeconds: 60 },
  loginFailuresPerIp: { points: 100, durationSeconds: 3600 },
  /** Failed password checks against one account, from anywhere. */
  passwordFailuresPerAccount: { points: 10, durationSeconds: 900 },
  /**
   * Failed second factors against one account (after a right password). Only a
   * successful second factor resets it, never a right password: whoever holds the
   * password must not earn fresh guesses at a 6-digit code by logging in again.
   */
  secondFactorFailuresPerAccount: { points: 10, durationSeconds: 900 },
  registerPerIp: { points: 10, durationSeconds: 3600 },
  changePasswordPerIp: { points: 10, durationSeconds: 3600 },
  deleteAccountPerIp: { points: 10, durationSeconds: 3600 },
  resendVerificationEmailPerIp: { points: 5, durationSeconds: 3600 },
  clientSaltSeedPerIp: { points: 60, durationSeconds: 60 },
} satisfies Record<string, Budget>;

export type LimitName = keyof typeof LIMITS;
export type Budgets = Record<LimitName, Budget>;

/** Budgets keyed by the client's address: counted per IPv4 address or IPv6 /64 (see budgetKey). */
const isPerIp = (name: LimitName) => name.endsWith('PerIp');

/** After each lock-out of an account the next one lasts twice as long, up to a day. */
const MAX_LOCKOUT_SECONDS = 24 * 3600;

export class RateLimits {
  private readonly limiters: Map<LimitName, RateLimiterAbstract>;
  private readonly lockouts: RateLimiterAbstract;

  /**
   * With `redis`, every key starts with `redisPrefix` (REDIS_CHANNEL_PREFIX), so
   * deployments sharing one Redis never share budgets or lock-outs.
   */
  constructor(
    private readonly budgets: Budgets,
    private readonly enabled: boolean,
    redis?: { client: Redis; prefix: string },
  ) {
    const make = (name: string, budget: Budget): RateLimiterAbstract => {
      const options = { keyPrefix: `${redis?.prefix ?? ''}rate-limit:${name}`, points: budget.points, duration: budget.durationSeconds };
      if (!redis) return new RateLimiterMemory(options);
      // While Redis is away the limits hold per instance instead of failing every request.
      return new RateLimiterRedis({ ...options, storeClient: redis.client, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(options) });
    };
    this.limiters = new Map((Object.keys(budgets) as LimitName[]).map((name) => [name, make(name, budgets[name])]));
    this.lockouts = make('lockouts', { points: 1_000_000, durationSeconds: MAX_LOCKOUT_SECONDS });
  }

  /** Spends one point of `name` for `key`; RATE_LIMITED once the budget is spent. */
  async consume(name: LimitName, key: string): Promise<void> {
    if (!this.enabled) return;
    try {
      await this.limiter(name).consume(this.key(name, key));
    } catch (rejection) {
      throw toRateLimited(rejection);
    }
  }

  /** RATE_LIMITED if `key` has already spent its budget of `name`, without spending anything. */
  async assertNotExhausted(name: LimitName, key: string): Promise<void> {
    if (!this.enabled) return;
    const state = await this.limiter(name).get(this.key(name, key));
    if (state && state.consumedPoints >= this.budgets[name].points) throw rateLimited(retryAfter(state));
  }

  /**
   * Counts a failed password check for an account. The failure that spends the
   * budget locks the account for the rest of the window and, after repeated
   * lock-outs, for exponentially longer (capped at a day).
   */
  async recordPasswordFailure(accountKey: string): Promise<void> {
    if (!this.enabled) return;
    const limiter = this.limiter('passwordFailuresPerAccount');
    try {
      await limiter.consume(accountKey);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const lockouts = await this.lockouts.penalty(accountKey);
      const base = this.budgets.passwordFailuresPerAccount.durationSeconds;
      await limiter.block(accountKey, Math.min(base * 2 ** (lockouts.consumedPoints - 1), MAX_LOCKOUT_SECONDS));
    }
  }

  /** Spends a point as a penalty; the next attempt is the one refused, this one keeps its own answer. */
  async recordFailure(name: LimitName, key: string): Promise<void> {
    if (!this.enabled) return;
    await this.limiter(name).penalty(this.key(name, key));
  }

  /** A correct password wipes the account's failure count. */
  async recordPasswordSuccess(accountKey: string): Promise<void> {
    if (!this.enabled) return;
    await this.limiter('passwordFailuresPerAccount').delete(accountKey);
  }

  /** Forgets `key`'s spending of `name` (a success that earns a fresh budget). */
  async reset(name: LimitName, key: string): Promise<void> {
    if (!this.enabled) return;
    await this.limiter(name).delete(this.key(name, key));
  }

  private key(name: LimitName, key: string): string {
    return isPerIp(name) ? budgetKey(key) : key;
  }

  private limiter(name: LimitName): RateLimiterAbstract {
    const limiter = this.limiters.get(name);
    if (!limiter) throw new Error(`no rate limiter ${name}`);
    return limiter;
  }
}

const retryAfter = (state: RateLimiterRes) => Math.max(1, Math.ceil(state.msBeforeNext / 1000));

function toRateLimited(rejection: unknown) {
  if (rejection instanceof RateLimiterRes) return rateLimited(retryAfter(rejection));
  return rejection;
}
