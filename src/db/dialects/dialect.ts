import type { PoolStats } from '../../lib/metrics';
import type { DataSource, DataSourceOptions, EntityManager, EntitySchemaColumnOptions, ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/**
 * What differs from one database to the next, behind one interface. Everything
 * outside src/db/dialects/ talks to this, never to a driver: adding a database
 * is one module implementing Dialect plus its migrations folder, registered in
 * dialects/index.ts.
 */
export interface Dialect {
  readonly name: DialectName;
  /** The database as people call it, for messages: "SQLite", "MySQL/MariaDB", "PostgreSQL". */
  readonly title: string;
  /** DATABASE_URL schemes that select it, e.g. ['mysql:', 'mariadb:']. */
  readonly schemes: readonly string[];
  /** DATABASE_URL (one of `schemes`) as the driver takes it; throws a message for a URL it cannot use. */
  parseUrl(value: string): string;
  /** The example URL a configuration error shows. */
  readonly exampleUrl: string;

  /** TypeORM's driver, as DataSourceOptions.type names it. */
  readonly driverType: DataSourceOptions['type'];
  /** TypeORM's options for the connection (entities and the common flags are added by data-source.ts). */
  connectionOptions(url: string, overrides: ConnectionOverrides): Omit<DataSourceOptions, 'entities'>;
  readonly migrations: readonly Function[];
  readonly columns: ColumnTypes;
  /** Pool counts for the metrics; undefined where there is no pool. */
  poolStats(dataSource: DataSource): PoolStats | undefined;

  /** How units of work reach the connection(s): see Database. */
  executor(dataSource: DataSource): Executor;
  /**
   * One statement with `?` placeholders and camelCase aliases (`AS accountId`),
   * the way every repository writes them; each dialect rewrites what it must.
   * Runs on the manager's transaction when it has one. Failures are TypeORM's QueryFailedError.
   */
  execute(m: EntityManager, sql: string, parameters: unknown[]): Promise<StatementResult>;
  /** An expected failure by what it means, or undefined for any other. */
  classify(error: unknown): Failure | undefined;
  /**
   * After a statement failed inside a transaction: is the transaction still
   * open? When it is not, committing would silently commit nothing, so the
   * caller must fail.
   */
  transactionSurvived(m: EntityManager, error: unknown): boolean;
  /**
   * Inserts the row unless a unique key already holds one; true when it was
   * inserted. One statement, and the transaction it runs in goes on either way.
   */
  insertIfAbsent(m: EntityManager, table: string, row: Record<string, unknown>): Promise<boolean>;
  /**
   * Runs `work` (one or a few statements that may fail in an expected way,
   * e.g. a duplicate key) so that a failure leaves the enclosing transaction
   * usable, as `transactionSurvived` would otherwise not promise.
   */
  recoverable<T>(m: EntityManager, work: () => Promise<T>): Promise<T>;
  /** The rows `query` reads, locked for the rest of the transaction where the database needs it (it has concurrent writers). */
  lockRows<T extends ObjectLiteral>(query: SelectQueryBuilder<T>): SelectQueryBuilder<T>;
  /** lockRows for a statement run through `execute`: what the SELECT ends with (' FOR UPDATE', or '' where nothing is needed). */
  readonly lockClause: string;
  /** SQL for the size in bytes of a text column's UTF-8 value. */
  octetLength(column: string): string;
  /**
   * Why the database cannot serve now although it answers (a Galera node
   * outside a primary component), or undefined; read with `query`, from status
   * only (a read of data may wait there). Asked before anything else at
   * start-up (on a connection of `connectOnce`) and by the readiness check.
   * Absent where it cannot happen.
   */
  unavailableReason?(query: (sql: string) => Promise<unknown>): Promise<string | undefined>;
  /** Runs `work` on a connection of its own to `url`, closed afterwards: for what must be asked before TypeORM's first read. */
  connectOnce?<T>(url: string, work: (query: (sql: string) => Promise<unknown>) => Promise<T>): Promise<T>;

  readonly admin: DialectAdmin;
}

export type { PoolStats };

export type DialectName = 'sqlite' | 'mysql' | 'postgres';

/** DATABASE_URL as read at start-up. */
export interface DatabaseConfig {
  dialect: DialectName;
  /** The embedded database's file path, or the server's URL. */
  url: string;
}

export interface ConnectionOverrides {
  poolSize?: number;
}

/**
 * Expected failures, by what the caller does about them:
 * - duplicate: a unique key already holds the row;
 * - contention: the database gave up the transaction to let a concurrent one
 *   through (a deadlock's victim, a serialization failure, a lock wait timeout,
 *   a Galera certification conflict) and rolled it back whole: running it again is safe;
 * - connection: the connection to the database is lost or cannot be had.
 */
export type Failure = 'duplicate' | 'contention' | 'connection';

export interface StatementResult {
  /** The rows of a SELECT (keyed by their aliases); empty for other statements. */
  records: Array<Record<string, unknown>>;
  /** Rows a write matched; 0 for a SELECT. */
  affected: number;
}

/** How units of work reach the database: Database adds the retries. */
export interface Executor {
  /** Single statements (each atomic on its own) outside a transaction. */
  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
  /** Work that issues exactly one prepared statement (Dialect.execute) outside a transaction. */
  statement<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
  /** A multi-step write: all or nothing, resolved once it is durable. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
}

/** Column types that differ between databases; entities take them from the dialect. */
export interface ColumnTypes {
  /** Millisecond date-times in UTC. */
  dateTime: Pick<EntitySchemaColumnOptions, 'type' | 'precision'>;
  /** Text up to MAX_WALLET_BYTES and beyond (the wallet blob). */
  longText: EntitySchemaColumnOptions['type'];
  /** For a column that identifies (an email key, a deviceId): compared byte for byte, no folding of case or accents. */
  exact: Pick<EntitySchemaColumnOptions, 'charset' | 'collation'>;
  /** A nullable column, declared as the database reports it back (keeps the schema check quiet). */
  nullable: Pick<EntitySchemaColumnOptions, 'nullable' | 'default'>;
}

/** The admin command's database tools. */
export interface DialectAdmin {
  /** A consistent copy of the live database into `file` (a new file), taken while the server goes on serving. */
  backup(url: string, file: string): Promise<BackupResult>;
  /** Puts a backup in place of the database (server stopped); absent where the database's own client restores. */
  restore?(url: string, file: string, now: Date, options: RestoreOptions): RestoreResult;
  /** How to restore this database's backups with its own tools. */
  restoreRecipe(url: string, file: string): string;
  /** For migrate-to's source, an embedded database: fails while another process holds it (its later writes would be lost). */
  assertAlone?(url: string): void;
  /** After migrate-to copied rows with their ids into these tables: whatever the database needs to go on numbering after them. */
  afterCopy?(m: EntityManager, tables: string[]): Promise<void>;
}

export interface BackupResult {
  file: string;
  bytes: number;
  /** The dump tool that wrote it, for a server database. */
  tool?: string;
  /** The copy's integrity check, for an embedded database. */
  integrity?: 'ok';
}

export interface RestoreOptions {
  /**
   * Keep the auth tokens the backup holds. By default they are all revoked: a
   * backup holds tokens that were revoked after it was taken (a lost phone's,
   * every token a password change ended), and restoring them would let them in again.
   */
  keepTokens: boolean;
}

export interface RestoreResult {
  database: string;
  restoredFrom: string;
  /** Where the database that was replaced now lies, or null when there was none. */
  replacedKeptAt: string | null;
  /** How many auth tokens of the backup were revoked; null when they were kept. */
  tokensRevoked: number | null;
  /** How many auth tokens the backup held. */
  tokensInBackup: number;
}
