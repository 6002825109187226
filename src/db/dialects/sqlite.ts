import { existsSync } from 'node:fs';
import { createPrivateFile, ensurePrivateDirectory } from '../../lib/private-files';
import path from 'node:path';
import type { Database as SqliteConnection, Statement } from 'better-sqlite3';
import { QueryFailedError } from 'typeorm';
import { InitialSchema1795666894848 } from '../migrations/sqlite/1795666894848-initial-schema';
import { VerificationTokens1795667096102 } from '../migrations/sqlite/1795667096102-verification-tokens';
import { ExactIdentity1795700000000 } from '../migrations/sqlite/1795700000000-exact-identity';
import { AccountKeyParams1795700000100 } from '../migrations/sqlite/1795700000100-account-key-params';
import { WalletHistory1795840000000 } from '../migrations/sqlite/1795840000000-wallet-history';
import { AccountWhitelist1795843101076 } from '../migrations/sqlite/1795843101076-account-whitelist';
import { PendingRegistrations1795850000000 } from '../migrations/sqlite/1795850000000-pending-registrations';
import { SecondFactor1795900000000 } from '../migrations/sqlite/1795900000000-second-factor';
import { Passkeys1795920000000 } from '../migrations/sqlite/1795920000000-passkeys';
import type { Dialect, StatementResult } from './dialect';
import { SerialExecutor, inTransaction } from './sqlite-serial';
import { sqliteDriver } from './sqlite-driver';
import { backupSqlite, holdAlone, restoreSqlite } from './sqlite-files';

/**
 * WAL with synchronous=FULL. In WAL mode, NORMAL may lose the last commits on
 * power loss (they are only in the WAL, not yet fsynced); FULL fsyncs the WAL
 * on every commit, so an acknowledged wallet update survives a power cut.
 */
const PRAGMAS = ['journal_mode = WAL', 'synchronous = FULL', 'foreign_keys = ON', 'busy_timeout = 5000'];

/** Embedded SQLite (better-sqlite3): one file, one connection, every write serialized (sqlite-serial.ts). */
export const sqlite: Dialect = {
  name: 'sqlite',
  title: 'SQLite',
  schemes: ['sqlite:'],
  exampleUrl: 'sqlite:path/to/file.sqlite',
  driverType: 'better-sqlite3',
  parseUrl: (value) => path.resolve(value.replace(/^sqlite:(\/\/)?/, '')),

  connectionOptions(file) {
    // Owner-only: the database holds password hashes and token hashes. SQLite gives its -wal and -shm the file's mode.
    ensurePrivateDirectory(path.dirname(file));
    if (!existsSync(file)) {
      try {
        createPrivateFile(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    return {
      type: 'better-sqlite3',
      driver: sqliteDriver(),
      database: file,
      migrations: [...sqlite.migrations],
      prepareDatabase: (db: { pragma(source: string): unknown }) => {
        for (const pragma of PRAGMAS) db.pragma(pragma);
      },
    };
  },
  migrations: [
    InitialSchema1795666894848,
    VerificationTokens1795667096102,
    ExactIdentity1795700000000,
    AccountKeyParams1795700000100,
    WalletHistory1795840000000,
    AccountWhitelist1795843101076,
    PendingRegistrations1795850000000,
    SecondFactor1795900000000,
    Passkeys1795920000000,
  ],
  // SQLite's TEXT has no length limit, and its default BINARY collation already compares bytes.
  columns: { dateTime: { type: 'datetime', precision: 3 }, longText: 'text', exact: {}, nullable: { nullable: true } },
  poolStats: () => undefined,

  executor: (dataSource) => new SerialExecutor(dataSource),
  /**
   * The statement is prepared once per connection and reused; it runs
   * synchronously, on the one connection, before this function returns. What
   * keeps it out of another request's open transaction is the executor.
   */
  execute(m, sql, parameters) {
    const connection = (m.connection.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection;
    try {
      return Promise.resolve(run(prepared(connection, sql), parameters));
    } catch (error) {
      return Promise.reject(new QueryFailedError(sql, parameters, error as Error));
    }
  },
  classify(error) {
    const code = codeOf(error);
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') return 'duplicate';
    return undefined;
  },
  transactionSurvived: (m) => inTransaction(m),
  async insertIfAbsent(m, table, row) {
    // ON CONFLICT, unlike OR IGNORE, skips only a uniqueness conflict: a NOT NULL or foreign key failure still fails.
    const columns = Object.keys(row);
    const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`;
    return (await sqlite.execute(m, sql, Object.values(row))).affected === 1;
  },
  // A failed statement is undone on its own and the transaction goes on.
  recoverable: (_m, work) => work(),
  // Transactions run one at a time: nobody else can change the rows meanwhile.
  lockRows: (query) => query,
  lockClause: '',
  octetLength: (column) => `LENGTH(CAST(${column} AS BLOB))`,

  admin: {
    backup: (file, into) => backupSqlite(file, into),
    restore: (file, from, now, options) => restoreSqlite(file, from, now, options),
    restoreRecipe: (file, from) => `wallet-sync-admin restore ${from} (with the server stopped) puts it in place of ${file}`,
    assertAlone: (file) => holdAlone(file).close(),
  },
};

const codeOf = (error: unknown) => (error as { driverError?: { code?: string } })?.driverError?.code ?? (error as { code?: string })?.code;

/** Statements by connection, then by SQL: the hot statements are a handful of constants, so nothing evicts. */
const preparedStatements = new WeakMap<SqliteConnection, Map<string, Statement>>();

function prepared(connection: SqliteConnection, sql: string): Statement {
  let statements = preparedStatements.get(connection);
  if (!statements) preparedStatements.set(connection, (statements = new Map()));
  let statement = statements.get(sql);
  if (!statement) statements.set(sql, (statement = connection.prepare(sql)));
  return statement;
}

function run(statement: Statement, parameters: unknown[]): StatementResult {
  if (statement.reader) return { records: statement.all(...parameters) as Array<Record<string, unknown>>, affected: 0 };
  return { records: [], affected: statement.run(...parameters).changes };
}

