import { QueryFailedError, type DataSource, type EntityManager } from 'typeorm';
import { InitialSchema1795666896627 } from '../migrations/mysql/1795666896627-initial-schema';
import { VerificationTokens1795667099515 } from '../migrations/mysql/1795667099515-verification-tokens';
import { ExactIdentity1795700000001 } from '../migrations/mysql/1795700000001-exact-identity';
import { AccountKeyParams1795700000101 } from '../migrations/mysql/1795700000101-account-key-params';
import { WalletHistory1795840000000 } from '../migrations/mysql/1795840000000-wallet-history';
import { AccountWhitelist1795843101077 } from '../migrations/mysql/1795843101077-account-whitelist';
import { PendingRegistrations1795850000001 } from '../migrations/mysql/1795850000001-pending-registrations';
import { SecondFactor1795900000001 } from '../migrations/mysql/1795900000001-second-factor';
import { NoPadIdentity1795910000001 } from '../migrations/mysql/1795910000001-no-pad-identity';
import { Passkeys1795920000001 } from '../migrations/mysql/1795920000001-passkeys';
import { createConnection } from 'mysql2/promise';
import { againOnContention } from '../contention';
import type { Dialect, Executor, StatementResult } from './dialect';
import { mysqlDump, mysqlDumpRecipe } from './mysql-dump';

/** MySQL error numbers the server reacts to. */
const ER_DUP_ENTRY = 1062;
/** A deadlock's victim; also how Galera reports a certification conflict (the transaction lost to one on another node). */
const ER_LOCK_DEADLOCK = 1213;
const ER_LOCK_WAIT_TIMEOUT = 1205;
/** "WSREP has not yet prepared node for application use": a Galera node outside a primary component refuses statements. */
const ER_UNKNOWN_COM_ERROR = 1047;
/** Connection errors that mysql2 reports by code rather than by a server error number. */
const LOST = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'POOL_CLOSED', 'ER_CON_COUNT_ERROR']);

/** MySQL and MariaDB (mysql2), including a Galera cluster's nodes. Every call gets a pooled connection; transactions are real ones. */
export const mysql: Dialect = {
  name: 'mysql',
  title: 'MySQL/MariaDB',
  schemes: ['mysql:', 'mariadb:'],
  exampleUrl: 'mysql://user:pass@host:3306/wallet_sync',
  driverType: 'mysql',
  parseUrl(value) {
    if (new URL(value).pathname.length <= 1) throw new Error(`the mysql:// URL must name a database, e.g. ${mysql.exampleUrl}`);
    return value.replace(/^mariadb:/, 'mysql:');
  },

  connectionOptions: (url, overrides) => ({
    type: 'mysql',
    url,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    supportBigNumbers: true,
    migrations: [...mysql.migrations],
    poolSize: overrides.poolSize ?? 10,
    connectTimeout: 5000,
    // Fail fast while the database is away instead of queueing requests without bound.
    extra: { waitForConnections: true, queueLimit: 1000, enableKeepAlive: true },
  }),
  migrations: [
    InitialSchema1795666896627,
    VerificationTokens1795667099515,
    ExactIdentity1795700000001,
    AccountKeyParams1795700000101,
    WalletHistory1795840000000,
    AccountWhitelist1795843101077,
    PendingRegistrations1795850000001,
    SecondFactor1795900000001,
    NoPadIdentity1795910000001,
    Passkeys1795920000001,
  ],
  columns: {
    // The driver runs with timezone 'Z': stored in UTC.
    dateTime: { type: 'datetime', precision: 3 },
    // TEXT stops at 64 KiB.
    longText: 'longtext',
    // The default collations fold case and accents, so "Phone" would equal "phone", and utf8mb4_bin pads, so
    // "laptop " equals "laptop"; utf8mb4_nopad_bin compares exactly (migration NoPadIdentity).
    exact: { charset: 'utf8mb4', collation: 'utf8mb4_nopad_bin' },
    // MariaDB reports a nullable column's default as the text NULL, which TypeORM's mysql driver (unlike its mariadb
    // one) takes for a changed default; declaring DEFAULT NULL, which the column has anyway, keeps the schema check quiet.
    nullable: { nullable: true, default: () => 'NULL' },
  },
  /** mysql2's pool keeps its counts in underscored fields; read them defensively. */
  poolStats(dataSource: DataSource) {
    const pool = (dataSource.driver as { pool?: Record<string, unknown> }).pool;
    const size = (value: unknown) => (Array.isArray(value) ? value.length : (value as { length?: number } | undefined)?.length ?? 0);
    if (!pool || !('_allConnections' in pool)) return undefined;
    return { total: size(pool._allConnections), free: size(pool._freeConnections), queued: size(pool._connectionQueue) };
  },

  executor: (dataSource): Executor => ({
    run: (work) => work(dataSource.manager),
    statement: (work) => work(dataSource.manager),
    transaction: (work) => dataSource.transaction(work),
  }),
  /**
   * `execute`, i.e. a server-side prepared statement that mysql2 caches per
   * pooled connection; on the transaction's connection when there is one, else
   * on any pooled connection (one statement is atomic). `affected` counts the
   * rows matched (TypeORM connects with FOUND_ROWS). Outside a transaction a
   * statement that lost to a concurrent write (a deadlock's victim; on Galera,
   * a DELETE of the row another node deleted first loses certification) had no
   * effect, so it runs again, as Database.transaction runs a transaction again:
   * then it answers as on one server (0 rows), not with an error.
   */
  execute(m, sql, parameters) {
    const transactional = (m.queryRunner as unknown as { databaseConnection?: MysqlExecutor } | undefined)?.databaseConnection;
    if (transactional) return executeOn(transactional, sql, parameters);
    const { pool } = m.connection.driver as unknown as { pool: MysqlExecutor };
    return againOnContention(() => executeOn(pool, sql, parameters), (error) => mysql.classify(error) === 'contention');
  },
  classify(error) {
    const errno = errnoOf(error);
    if (errno === ER_DUP_ENTRY) return 'duplicate';
    if (errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT) return 'contention';
    const code = codeOf(error);
    if ((code !== undefined && LOST.has(code)) || errno === ER_UNKNOWN_COM_ERROR) return 'connection';
    return undefined;
  },
  // A failed statement is undone on its own, except that a deadlock (or a lock wait timeout) rolls back the whole transaction.
  transactionSurvived: (_m: EntityManager, error) => mysql.classify(error) !== 'contention',
  async insertIfAbsent(m, table, row) {
    // Not INSERT IGNORE: that would also turn a truncation or a foreign key failure into a silent skip.
    // A duplicate key fails only its statement; the transaction goes on.
    const columns = Object.keys(row);
    const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
    try {
      await mysql.execute(m, sql, Object.values(row));
      return true;
    } catch (error) {
      if (mysql.classify(error) === 'duplicate') return false;
      throw error;
    }
  },
  recoverable: (_m, work) => work(),
  lockRows: (query) => query.setLock('pessimistic_write'),
  lockClause: ' FOR UPDATE',
  octetLength: (column) => `LENGTH(${column})`,
  async unavailableReason(query) {
    // Status variables answer at once even on a node that refuses statements (where a SELECT of data waits for the
    // cluster, wsrep_sync_wait, until it times out). Without a Galera provider there are none to read.
    const rows = (await query(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_provider_name', 'wsrep_cluster_status', 'wsrep_ready', 'wsrep_local_state_comment')",
    )) as Array<{ Variable_name: string; Value: string }>;
    const status = Object.fromEntries(rows.map((row) => [row.Variable_name, row.Value]));
    if (!status.wsrep_provider_name) return undefined;
    if (status.wsrep_cluster_status === 'Primary' && status.wsrep_ready === 'ON') return undefined;
    return `the Galera node is not in a primary component (wsrep_cluster_status=${status.wsrep_cluster_status}, wsrep_ready=${status.wsrep_ready}, state ${status.wsrep_local_state_comment}): it refuses reads and writes until it rejoins a primary component`;
  },
  async connectOnce(url, work) {
    const connection = await createConnection({ uri: url, connectTimeout: 5000 });
    try {
      return await work(async (sql) => (await connection.query(sql))[0]);
    } finally {
      await connection.end().catch(() => connection.destroy());
    }
  },

  admin: {
    backup: (url, file) => mysqlDump(url, file),
    restoreRecipe: mysqlDumpRecipe,
  },
};

function executeOn(connection: MysqlExecutor, sql: string, parameters: unknown[]): Promise<StatementResult> {
  return new Promise((resolve, reject) => {
    connection.execute(sql, parameters, (error, result) => {
      if (error) return reject(new QueryFailedError(sql, parameters, error));
      resolve(Array.isArray(result) ? { records: result as Array<Record<string, unknown>>, affected: 0 } : { records: [], affected: result.affectedRows });
    });
  });
}

interface MysqlExecutor {
  execute(sql: string, values: unknown[], callback: (error: Error | null, result: unknown[] | { affectedRows: number }) => void): void;
}

const driverErrorOf = (error: unknown) => ((error as { driverError?: unknown })?.driverError ?? error) as { errno?: number; code?: string } | undefined;
const errnoOf = (error: unknown) => driverErrorOf(error)?.errno;
const codeOf = (error: unknown) => driverErrorOf(error)?.code;
