import { createHash } from 'node:crypto';
import { QueryFailedError, type DataSource, type EntityManager } from 'typeorm';
import { InitialSchema1796000000000 } from '../migrations/postgres/1796000000000-initial-schema';
import { Passkeys1796000000001 } from '../migrations/postgres/1796000000001-passkeys';
import type { Dialect, Executor, StatementResult } from './dialect';
import { pgDump, pgDumpRecipe } from './postgres-dump';

/** SQLSTATEs the server reacts to (PostgreSQL's appendix A). */
const UNIQUE_VIOLATION = '23505';
/** A serializable transaction lost to a concurrent one, and a deadlock's victim: both roll the whole transaction back. */
const CONTENTION = new Set(['40001', '40P01']);
/**
 * The connection is gone or cannot be had: class 08 (connection exceptions),
 * the server shutting down (57P01 admin, 57P02 crash, 57P03 not yet accepting
 * connections), and the socket errors pg passes through.
 */
const LOST = new Set(['57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);
/** pg reports a dropped socket or a full pool by message only. */
const LOST_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Client was closed|Cannot use a pool after calling end|Client has encountered a connection error/;

/** PostgreSQL (pg). Every call gets a pooled connection; transactions are real ones, at READ COMMITTED. */
export const postgres: Dialect = {
  name: 'postgres',
  title: 'PostgreSQL',
  schemes: ['postgres:', 'postgresql:'],
  exampleUrl: 'postgres://user:pass@host:5432/wallet_sync',
  driverType: 'postgres',
  parseUrl(value) {
    if (new URL(value).pathname.length <= 1) throw new Error(`the postgres:// URL must name a database, e.g. ${postgres.exampleUrl}`);
    return value;
  },

  connectionOptions: (url, overrides) => ({
    type: 'postgres',
    url,
    migrations: [...postgres.migrations],
    poolSize: overrides.poolSize ?? 10,
    connectTimeoutMS: 5000,
    // COUNT(*) and SUM() answer bigint, which pg hands back as text: every count here fits a number.
    parseInt8: true,
    applicationName: 'wallet-sync',
    // Nothing here needs uuid-ossp, and installing it needs rights the server's role should not have.
    installExtensions: false,
    // A pooled connection the server drops (restart, failover) is reported here; requests see their own errors.
    poolErrorHandler: () => {},
    // Date-times are timestamptz and travel as instants; the session's zone only shapes text a person reads or writes.
    extra: { options: '-c TimeZone=UTC' },
  }),
  migrations: [InitialSchema1796000000000, Passkeys1796000000001],
  columns: {
    // timestamptz stores the instant: the value a Date carries, whatever the server's or the client's time zone.
    dateTime: { type: 'timestamptz', precision: 3 },
    // TEXT has no length limit short of 1 GB.
    longText: 'text',
    // The "C" collation compares bytes: no folding of case or accents, and trailing spaces count (PROTOCOL.md, "Accounts").
    exact: { collation: 'C' },
    nullable: { nullable: true },
  },
  poolStats(dataSource: DataSource) {
    const pool = (dataSource.driver as unknown as { master?: { totalCount?: number; idleCount?: number; waitingCount?: number } }).master;
    if (!pool || typeof pool.totalCount !== 'number') return undefined;
    return { total: pool.totalCount, free: pool.idleCount ?? 0, queued: pool.waitingCount ?? 0 };
  },

  executor: (dataSource): Executor => ({
    run: (work) => work(dataSource.manager),
    statement: (work) => work(dataSource.manager),
    transaction: (work) =>
      dataSource.transaction(async (m) => {
        const result = await work(m);
        // COMMIT of a transaction a failed statement aborted answers ROLLBACK, not an error: work that caught such a
        // failure and went on would be told it was stored when nothing was.
        if (!transactionOpen(m)) throw new Error('a statement failed inside the transaction, which PostgreSQL then aborted: nothing was committed');
        return result;
      }),
  }),
  /**
   * A named prepared statement (pg parses it once per pooled connection and
   * reuses it), on the transaction's connection when there is one, else on any
   * pooled connection (one statement is atomic). `?` become `$1…`, and
   * camelCase aliases are quoted, since PostgreSQL folds unquoted names to
   * lower case.
   */
  execute(m, sql, parameters) {
    const statement = rendered(sql);
    const connection =
      (m.queryRunner as unknown as { databaseConnection?: PgExecutor } | undefined)?.databaseConnection ??
      (m.connection.driver as unknown as { master: PgExecutor }).master;
    return connection.query({ name: statement.name, text: statement.text, values: parameters }).then(
      (result): StatementResult =>
        result.command === 'SELECT' ? { records: result.rows, affected: 0 } : { records: result.rows, affected: result.rowCount ?? 0 },
      async (error: Error) => {
        // pg rejects on the error message, which may come before the ReadyForQuery that reports the transaction
        // aborted: until that arrives the connection still says "in a transaction", and transactionSurvived (or the
        // check before COMMIT) would believe it. pg sends the next statement only after that ReadyForQuery, so
        // one more round trip on the same connection makes the status true. Only on a failure inside a transaction.
        if (m.queryRunner?.isTransactionActive && postgres.classify(error) !== 'connection') await connection.query('SELECT 1').catch(() => undefined);
        throw new QueryFailedError(statement.text, parameters, error);
      },
    );
  },
  classify(error) {
    const code = codeOf(error);
    if (code === UNIQUE_VIOLATION) return 'duplicate';
    if (code !== undefined && CONTENTION.has(code)) return 'contention';
    if (code !== undefined && (LOST.has(code) || code.startsWith('08'))) return 'connection';
    if (LOST_MESSAGE.test(messageOf(error))) return 'connection';
    return undefined;
  },
  // Any failed statement aborts the whole transaction (until ROLLBACK every later statement fails too), unless it ran
  // behind a savepoint (recoverable) that was rolled back to: the server's transaction status tells which.
  transactionSurvived: (m) => transactionOpen(m),
  async insertIfAbsent(m, table, row) {
    // ON CONFLICT DO NOTHING skips only a uniqueness conflict, and, unlike a failed INSERT, leaves the transaction usable.
    const columns = Object.keys(row);
    const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`;
    return (await postgres.execute(m, sql, Object.values(row))).affected === 1;
  },
  /** A failed statement aborts the transaction, so the work runs behind a savepoint, which a failure rolls back to. */
  async recoverable(m, work) {
    if (!m.queryRunner?.isTransactionActive) return work();
    await m.query('SAVEPOINT recoverable');
    try {
      const result = await work();
      await m.query('RELEASE SAVEPOINT recoverable');
      return result;
    } catch (error) {
      if (postgres.classify(error) !== 'connection') await m.query('ROLLBACK TO SAVEPOINT recoverable');
      throw error;
    }
  },
  lockRows: (query) => query.setLock('pessimistic_write'),
  lockClause: ' FOR UPDATE',
  octetLength: (column) => `OCTET_LENGTH(${column})`,

  admin: {
    backup: (url, file) => pgDump(url, file),
    restoreRecipe: pgDumpRecipe,
    async afterCopy(m, tables) {
      // Rows came with their ids, which do not advance a serial column's sequence: the next insert would take id 1.
      // (Found from the catalog rather than tried per table: a failed statement would abort the copy's transaction.)
      const serials: Array<{ table: string; column: string; sequence: string }> = await m.query(
        `SELECT table_name AS "table", column_name AS "column", pg_get_serial_sequence(quote_ident(table_name), column_name) AS "sequence"
         FROM information_schema.columns WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%' AND table_name = ANY($1)`,
        [tables],
      );
      for (const { table, column, sequence } of serials) {
        await m.query(`SELECT setval($1, COALESCE((SELECT MAX("${column}") FROM "${table}"), 0) + 1, false)`, [sequence]);
      }
    },
  },
};

/** The server's own word (ReadyForQuery): 'T' in a usable transaction, 'E' in one a failed statement aborted. */
function transactionOpen(m: EntityManager): boolean {
  const connection = (m.queryRunner as unknown as { databaseConnection?: { getTransactionStatus?(): string | null } } | undefined)?.databaseConnection;
  return connection?.getTransactionStatus?.() === 'T';
}

interface PgResult {
  command: string;
  rows: Array<Record<string, unknown>>;
  rowCount: number | null;
}

interface PgExecutor {
  query(config: { name: string; text: string; values: unknown[] } | string): Promise<PgResult>;
}

interface RenderedStatement {
  name: string;
  text: string;
}

/** Statements as PostgreSQL takes them, by the SQL the repositories write; a handful of constants, so nothing evicts. */
const renderedStatements = new Map<string, RenderedStatement>();

function rendered(sql: string): RenderedStatement {
  let statement = renderedStatements.get(sql);
  if (!statement) {
    let n = 0;
    // The repositories' statements hold no string literals, so every ? is a placeholder.
    const text = sql.replace(/\?/g, () => `$${(n += 1)}`).replace(/\bAS ([a-z]+[A-Z]\w*)/g, 'AS "$1"');
    statement = { name: `ws_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
    renderedStatements.set(sql, statement);
  }
  return statement;
}

const driverErrorOf = (error: unknown) => ((error as { driverError?: unknown })?.driverError ?? error) as { code?: string; message?: string } | undefined;
const codeOf = (error: unknown) => driverErrorOf(error)?.code;
const messageOf = (error: unknown) => driverErrorOf(error)?.message ?? '';
