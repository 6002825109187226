import { Mutex } from 'async-mutex';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { Executor } from './dialect';

/** A transaction waiting for its turn in a group commit. */
interface PendingTransaction {
  work: (manager: EntityManager) => Promise<unknown>;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

/** The most transactions one commit carries: bounds how long the first of them waits for its answer. */
const MAX_GROUP_COMMIT = 32;

/**
 * SQLite's executor. TypeORM shares a single connection between all queries,
 * so a statement issued while another request's transaction is open would run
 * inside it (and be rolled back with it): every unit of work takes a FIFO mutex
 * first. better-sqlite3 is synchronous, so holding the mutex costs only the
 * statement itself.
 */
export class SerialExecutor implements Executor {
  private readonly lock = new Mutex();
  /** Transactions waiting for the next group commit, and whether a drain of them is under way. */
  private readonly pending: PendingTransaction[] = [];
  private draining = false;

  constructor(private readonly dataSource: DataSource) {}

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.lock.runExclusive(() => work(this.dataSource.manager));
  }

  /**
   * The statement executes synchronously, so when no transaction holds the
   * connection it runs at once: nothing can slip in between, and queueing on
   * the mutex would only add promise hops to every request. While a
   * transaction holds the connection it waits its turn as in run(), so it
   * never reads or writes inside another request's transaction.
   */
  statement<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const manager = this.dataSource.manager;
    return this.lock.isLocked() ? this.lock.runExclusive(() => work(manager)) : work(manager);
  }

  /**
   * The transactions that arrive in one turn of the event loop, or while a
   * group commits, are committed together (a group commit; better-sqlite3 runs
   * every statement synchronously, so without waiting for the turn's other
   * requests a group would hold one transaction): each runs in a savepoint of
   * one database transaction, in arrival order, one at a time, and the
   * commit's fsync, the most of a write's cost, is paid once for all of them.
   * A transaction that fails is rolled back to its savepoint and fails alone;
   * if the commit fails, every transaction of the group fails and none is
   * answered as done.
   */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
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
      while (this.pending.length > 0) await this.lock.runExclusive(() => this.commitGroup());
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
    if (!inTransaction(runner.manager)) throw error;
    await runner.rollbackTransaction();
    return { ok: false };
  }
}

/** Rolls back whatever of the group's transaction SQLite still has open, and leaves TypeORM's runner ready for the next group. */
async function abandon(runner: QueryRunner): Promise<void> {
  try {
    if (inTransaction(runner.manager)) {
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

/**
 * Is SQLite's transaction still open? A failed statement is undone on its own,
 * except that SQLite rolls back the whole transaction on some errors (e.g. a full disk).
 */
export function inTransaction(m: EntityManager): boolean {
  return sqliteConnection(m)?.inTransaction === true;
}

function sqliteConnection(m: EntityManager): { inTransaction: boolean; exec(sql: string): unknown } | undefined {
  return (m.connection.driver as { databaseConnection?: { inTransaction: boolean; exec(sql: string): unknown } }).databaseConnection;
}
