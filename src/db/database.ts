import type { DataSource, EntityManager } from 'typeorm';
import { dialectOf } from './dialects';
import type { Dialect, Executor } from './dialects/dialect';

/**
 * How many times a transaction runs at most when the database keeps giving it
 * up to a concurrent one (Failure 'contention'), and the base of the pause
 * before a run again, which doubles per run. Each loser waits a random part of
 * the pause, so racers that deadlocked on each other do not meet again in
 * lockstep. Measured on a 3-node Galera cluster (tests/cluster): 24 logins of
 * one account at once through two nodes lost certification up to 5 times in a
 * row with 4 runs and a linear pause, and failed; 8 runs with the doubling
 * pause spread them out (about 1 s of pauses at most, on contention only).
 */
const MAX_ATTEMPTS = 8;
const RETRY_PAUSE_MS = 8;

/**
 * The one way services reach the database, on whichever database DATABASE_URL
 * chose: the dialect (src/db/dialects) decides how work reaches the
 * connections, and Database adds what is the same everywhere.
 */
export class Database {
  private readonly executor: Executor;

  constructor(
    readonly dataSource: DataSource,
    readonly dialect: Dialect,
  ) {
    this.executor = dialect.executor(dataSource);
  }

  /** Runs single statements (each atomic on its own) outside a transaction. */
  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.executor.run(work);
  }

  /** Runs work that issues exactly one prepared statement (repositories/statements.ts) outside a transaction. */
  statement<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.executor.statement(work);
  }

  /**
   * Runs a multi-step write as one transaction: all of it happens, or none; it
   * resolves once it is durable. A transaction the database gave up to let a
   * concurrent one through (a deadlock's victim, a serialization failure, a
   * cluster's certification conflict) was rolled back whole, so it runs again,
   * up to MAX_ATTEMPTS times: the next run sees the winner's writes, so a
   * compare-and-set that lost answers as a conflict rather than an error.
   * `work` must therefore have no effect outside the database.
   */
  async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.executor.transaction(work);
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || this.dialect.classify(error) !== 'contention') throw error;
        // Jittered and doubling, so that racers who lost together do not meet again on the next run.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * RETRY_PAUSE_MS * 2 ** attempt));
      }
    }
  }

  /** Whether the database answers and can serve: fails with the reason when it cannot (the readiness check). */
  async ping(): Promise<void> {
    const reason = await this.run(async (manager) => this.dialect.unavailableReason?.((sql) => manager.query(sql)));
    if (reason) throw new Error(reason);
    await this.run((manager) => manager.query('SELECT 1'));
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/**
 * After a statement failed inside a transaction: is the transaction still
 * open? When the database ended it, committing would silently commit nothing,
 * so the caller must fail.
 */
export function transactionSurvived(m: EntityManager, error: unknown): boolean {
  return dialectOf(m).transactionSurvived(m, error);
}
