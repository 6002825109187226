import { Redis } from 'ioredis';
import { testDialect } from '../../test-support/database';

/**
 * Which tests may run, given the services this machine offers. A test that
 * needs Redis reads REDIS_URL:
 * - set: the tests run, and a Redis that does not answer fails them;
 * - unset on a developer's machine: they are skipped with a warning saying why;
 * - unset in CI (CI=true): they fail. .ci/run passes REDIS_URL to both passes
 *   (the servers of the other tests never read it: they get their environment
 *   from startTestServer), so a missing one is a broken set-up, never a skip.
 * The two-instance test and migrate-to also need a database server: they run
 * in the passes whose DATABASE_URL is mysql:// or postgres:// and are skipped
 * in the SQLite pass, whose whole point is the embedded database.
 */
export interface ServiceRequirement {
  /** Why the tests cannot run here, or undefined when they can. */
  missing: string | undefined;
  /** In CI a missing service is a failure, not a skip. */
  mustFail: boolean;
}

export function redisRequirement(): ServiceRequirement {
  const missing = process.env.REDIS_URL ? undefined : 'REDIS_URL is unset (e.g. REDIS_URL=redis://127.0.0.1:6379)';
  return { missing, mustFail: missing !== undefined && process.env.CI === 'true' };
}

export function databaseServerRequirement(): ServiceRequirement {
  const missing =
    testDialect() === 'sqlite' ? 'DATABASE_URL names no database server (the SQLite pass); it runs in the MariaDB and PostgreSQL passes' : undefined;
  return { missing, mustFail: false };
}

/**
 * `describe`, or, when a requirement is missing, a visible skip whose body is
 * never run (or in CI a failing test naming what is missing).
 */
export function describeWith(requirements: ServiceRequirement[], name: string, body: () => void): void {
  const failing = requirements.find((r) => r.missing && r.mustFail);
  if (failing) {
    describe(name, () => {
      it('has the services it needs', () => {
        throw new Error(`CI=true, so this may not be skipped: ${failing.missing}`);
      });
    });
    return;
  }
  const skipped = requirements.find((r) => r.missing);
  if (skipped) {
    // Not describe.skip(name, body): jest still runs a skipped block's body to collect its tests, and a body that
    // reads the missing service's settings (new URL(process.env.REDIS_URL!)) would fail the whole file.
    console.warn(`Skipping "${name}": ${skipped.missing}`);
    describe(name, () => {
      it.skip(`needs what is missing here: ${skipped.missing}`, () => {});
    });
    return;
  }
  describe(name, body);
}

/** Fails with a clear message when the Redis at `url` does not answer a PING within a few seconds. */
export async function assertRedisAnswers(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`REDIS_URL=${url} does not answer: ${(error as Error).message}`);
  } finally {
    redis.disconnect();
  }
}
