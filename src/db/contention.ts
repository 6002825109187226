/**
 * How many times work that the database gave up to a concurrent one (Failure
 * 'contention': a deadlock's victim, a serialization failure, a lost Galera
 * certification) runs at most, and the base of the pause before a run again,
 * which doubles per run. Each loser waits a random part of the pause, so
 * racers that deadlocked on each other do not meet again in lockstep. Measured
 * on a 3-node Galera cluster (tests/cluster): 24 logins of one account at once
 * through two nodes lost certification up to 5 times in a row with 4 runs and
 * a linear pause, and failed; 8 runs with the doubling pause spread them out
 * (about 1 s of pauses at most, on contention only).
 */
const MAX_ATTEMPTS = 8;
const RETRY_PAUSE_MS = 8;

/**
 * Runs `work` again while it fails with contention (as `isContention` tells),
 * up to MAX_ATTEMPTS runs. Only for work that the failure undid whole: a
 * transaction, or one statement outside a transaction.
 */
export async function againOnContention<T>(work: () => Promise<T>, isContention: (error: unknown) => boolean): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isContention(error)) throw error;
      // Jittered and doubling, so that racers who lost together do not meet again on the next run.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * RETRY_PAUSE_MS * 2 ** attempt));
    }
  }
}
