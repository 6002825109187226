import { LIMITS, type Budgets } from '../../src/lib/rate-limits';

// For the tests of RateLimits itself, in memory (tests/integration) and in a shared Redis (tests/redis).

/** Small budgets, so a test spends them in a few calls. */
export const BUDGETS: Budgets = { ...LIMITS, clientSaltSeedPerIp: { points: 2, durationSeconds: 60 }, passwordFailuresPerAccount: { points: 2, durationSeconds: 60 } };

/** 'allowed', or the code a refused attempt failed with. */
export async function outcome(attempt: Promise<void>): Promise<string> {
  try {
    await attempt;
    return 'allowed';
  } catch (error) {
    return (error as { extensions?: { code?: string }; code?: string }).extensions?.code ?? (error as { code?: string }).code ?? String(error);
  }
}
