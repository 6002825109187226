/**
 * Tests that need a service beyond the database. Outside CI a missing service
 * skips them with a visible warning; under CI=true it fails them, loudly.
 */
export function requiredRedisUrl(): string | undefined {
  const url = process.env.REDIS_URL;
  if (url) return url;
  if (process.env.CI === 'true') throw new Error('REDIS_URL is not set: under CI=true the Redis tests must run (see .ci/run)');
  console.warn('Redis tests skipped: set REDIS_URL=redis://127.0.0.1:6379 to run them');
  return undefined;
}
