import type { DataSource, EntityManager } from 'typeorm';
import { againOnContention } from './contention';
import { dialectOf } from './dialects';
import type { Dialect, Executor } from './dialects/dialect';

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
   * cluster's certification conflict) was rolled back whole, so it runs again
   * (againOnContention): the next run sees the winner's writes, so a
   * compare-and-set that lost answers as a conflict rather than an error.
   * `work` must therefore have no effect outside the database.
   */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return againOnContention(() => this.executor.transaction(work), (error) => this.dialect.classify(error) === 'contention');
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
