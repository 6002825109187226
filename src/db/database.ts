import { Mutex } from 'async-mutex';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { Dialect } from '../config';

/** A transaction waiting for its turn in a SQLite group commit. */
interface PendingTransaction {
  work: (manager: EntityManager) => Promise<unknown>;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

/** The most transactions one SQLite commit carries: bounds how long the first of them waits for its answer. */
const MAX_GROUP_COMMIT = 32;

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
  /** SQLite: transactions waiting for the next group commit, and whether a drain of them is under way. */
  private readonly pending: PendingTransaction[] = [];
  private draining = false;

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

  /**
   * Runs a multi-step write as one transaction: all of it happens, or none; it
   * resolves once it is durable (committed, and on SQLite fsynced).
   *
   * On SQLite the transactions that arrive in one turn of the event loop, or
   * while a group commits, are committed together (a group commit; better-sqlite3
   * runs every statement synchronously, so without waiting for the turn's other
   * requests a group would hold one transaction): each runs in a savepoint of one database
   * transaction, in arrival order, one at a time, and the commit's fsync, the
   * most of a write's cost, is paid once for all of them. A transaction that
   * fails is rolled back to its savepoint and fails alone; if the commit
   * fails, every transaction of the group fails and none is answered as done.
   */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.lock) return this.dataSource.transaction(work);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (result: unknown) => void, reject });
      if (this.draining) return;
      this.draining = true;
      // After the I/O callbacks of this turn of the event loop: every request read in it has queued its transaction by then.
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    try {
      // Between groups the lock is released, so single statements waiting for it are not starved.
      while (this.pending.length > 0) await this.lock!.runExclusive(() => this.commitGroup());
    } finally {
      this.draining = false;
    }
  }

  private async commitGroup(): Promise<void> {
    const group = this.pending.splice(0, MAX_GROUP_COMMIT);
    const runner = this.dataSource.createQueryRunner();
    const done: Array<{ transaction: PendingTransaction; result: unknown }> = [];
    let ran = 0;
    try {
      await runner.startTransaction();
      for (const transaction of group) {
        ran += 1;
        const result = await runInSavepoint(runner, transaction);
        if (result.ok) done.push({ transaction, result: result.value });
      }
      await runner.commitTransaction();
    } catch (error) {
      // The database transaction is lost (BEGIN or COMMIT failed, or a statement undid it whole): so is every
      // transaction that ran in it. The ones that had not run yet go first in the next group.
      await abandon(runner);
      for (const { transaction } of done) transaction.reject(error);
      if (ran === 0) for (const transaction of group) transaction.reject(error);
      else this.pending.unshift(...group.slice(ran));
      return;
    } finally {
      await runner.release();
    }
    for (const { transaction, result } of done) transaction.resolve(result);
  }

  async ping(): Promise<void> {
    await this.run((manager) => manager.query('SELECT 1'));
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/**
 * One transaction of a group commit in its own savepoint. Its failure rolls
 * back only the savepoint and is its own; throws when the failure ended the
 * whole database transaction (e.g. a full disk), which the group cannot survive.
 */
async function runInSavepoint(runner: QueryRunner, transaction: PendingTransaction): Promise<{ ok: true; value: unknown } | { ok: false }> {
  await runner.startTransaction();
  try {
    const value = await transaction.work(runner.manager);
    await runner.commitTransaction();
    return { ok: true, value };
  } catch (error) {
    transaction.reject(error);
    if (!transactionSurvived(runner.manager, error)) throw error;
    await runner.rollbackTransaction();
    return { ok: false };
  }
}

/** Rolls back whatever of the group's transaction SQLite still has open, and leaves TypeORM's runner ready for the next group. */
async function abandon(runner: QueryRunner): Promise<void> {
  try {
    if (sqliteConnection(runner.manager)?.inTransaction) {
      while (runner.isTransactionActive) await runner.rollbackTransaction();
      return;
    }
  } catch {
    const connection = sqliteConnection(runner.manager);
    if (connection?.inTransaction) connection.exec('ROLLBACK');
  }
  // SQLite ended the transaction itself (or the rollback failed): TypeORM still counts it, and its own rollback would
  // fail on the missing transaction and keep counting, so the next BEGIN would be taken for a savepoint.
  Object.assign(runner, { isTransactionActive: false, transactionDepth: 0 });
}

function sqliteConnection(m: EntityManager): { inTransaction: boolean; exec(sql: string): unknown } | undefined {
  return (m.connection.driver as { databaseConnection?: { inTransaction: boolean; exec(sql: string): unknown } }).databaseConnection;
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
  return sqliteConnection(m)?.inTransaction === true;
}
