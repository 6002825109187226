import { Mutex } from 'async-mutex';
import type { DataSource, EntityManager } from 'typeorm';
import type { Dialect } from '../config';

/**
 * The one way services reach the database. On MySQL every call gets a pooled
 * connection and transactions are real ones. On SQLite TypeORM shares a single
 * connection between all queries, so a statement issued while another request's
 * transaction is open would run inside it (and be rolled back with it): there,
 * every unit of work takes a FIFO mutex first. better-sqlite3 is synchronous, so
 * holding the mutex costs only the statement itself.
 */
export class Database {
  private readonly lock: Mutex | undefined;

  constructor(
    readonly dataSource: DataSource,
    readonly dialect: Dialect,
  ) {
    this.lock = dialect === 'sqlite' ? new Mutex() : undefined;
  }

  /** Runs single statements (each atomic on its own) outside a transaction. */
  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const manager = this.dataSource.manager;
    return this.lock ? this.lock.runExclusive(() => work(manager)) : work(manager);
  }

  /**
   * Runs work that issues exactly one prepared statement (repositories/statements.ts)
   * outside a transaction. On SQLite that statement executes synchronously, so
   * when no transaction holds the connection it runs at once: nothing can slip
   * in between, and queueing on the mutex would only add promise hops to every
   * request. While a transaction holds the connection it waits its turn as in
   * run(), so it never reads or writes inside another request's transaction.
   */
  statement<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const manager = this.dataSource.manager;
    return this.lock?.isLocked() ? this.lock.runExclusive(() => work(manager)) : work(manager);
  }

  /** Runs a multi-step write as one transaction: all of it happens, or none. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const start = () => this.dataSource.transaction(work);
    return this.lock ? this.lock.runExclusive(start) : start();
  }

  async ping(): Promise<void> {
    await this.run((manager) => manager.query('SELECT 1'));
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** True when the error is a unique-key violation (a duplicate insert), on either dialect. */
export function isDuplicateKey(error: unknown): boolean {
  const code = (error as { driverError?: { code?: string } })?.driverError?.code ?? (error as { code?: string })?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

const errnoOf = (error: unknown) => (error as { driverError?: { errno?: number } })?.driverError?.errno ?? (error as { errno?: number })?.errno;

/** MySQL chose this transaction as a deadlock's victim and rolled it back whole. */
export const isDeadlock = (error: unknown) => errnoOf(error) === 1213;

/**
 * After a statement failed inside a transaction: is the transaction still open?
 * A failed statement is undone on its own, except that MySQL rolls back the
 * whole transaction on a deadlock (and SQLite on some errors, e.g. a full disk):
 * then committing would silently commit nothing, so the caller must fail.
 */
export function transactionSurvived(m: EntityManager, error: unknown): boolean {
  if (m.connection.options.type === 'mysql') return !isDeadlock(error) && errnoOf(error) !== 1205;
  const connection = (m.connection.driver as { databaseConnection?: { inTransaction?: boolean } }).databaseConnection;
  return connection?.inTransaction === true;
}
