import type { Database as SqliteConnection, Statement } from 'better-sqlite3';
import { QueryFailedError, type EntityManager, type EntityTarget, type ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/**
 * Plain parameterized SQL for the statements every request runs (token lookup,
 * wallet read, wallet compare-and-set), prepared once per connection and
 * reused, on the connections TypeORM manages: inside the manager's
 * transaction when it has one. TypeORM's query path around such a statement
 * (query runner, logger and subscriber broadcasts, several promise hops) cost
 * more than the statement itself. Values pass through TypeORM's own column
 * conversions, so rows are exactly those the entity API reads and writes, and
 * failures are TypeORM's QueryFailedError as before.
 *
 * - SQLite (better-sqlite3): the statement runs synchronously, on the one
 *   connection, before this function returns. What keeps it out of another
 *   request's open transaction is the caller (Database.statement / run /
 *   transaction), not anything here.
 * - MySQL (mysql2): `execute`, i.e. a server-side prepared statement that
 *   mysql2 caches per pooled connection; on the transaction's connection when
 *   there is one, else on any pooled connection (one statement is atomic).
 */
export interface StatementResult {
  /** The rows of a SELECT (keyed by their aliases); empty for other statements. */
  records: Array<Record<string, unknown>>;
  /** Rows a write changed (SQLite) or matched (MySQL: FOUND_ROWS); 0 for a SELECT. */
  affected: number;
}

export function execute(m: EntityManager, sql: string, parameters: unknown[]): Promise<StatementResult> {
  const driver = m.connection.driver as unknown as { databaseConnection?: SqliteConnection; pool?: MysqlExecutor };
  if (m.connection.options.type === 'better-sqlite3') {
    try {
      return Promise.resolve(runSqlite(prepared(driver.databaseConnection!, sql), parameters));
    } catch (error) {
      return Promise.reject(new QueryFailedError(sql, parameters, error as Error));
    }
  }
  const connection = (m.queryRunner as unknown as { databaseConnection?: MysqlExecutor } | undefined)?.databaseConnection ?? driver.pool!;
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

/** Statements by connection, then by SQL: the hot statements are a handful of constants, so nothing evicts. */
const preparedStatements = new WeakMap<SqliteConnection, Map<string, Statement>>();

function prepared(connection: SqliteConnection, sql: string): Statement {
  let statements = preparedStatements.get(connection);
  if (!statements) preparedStatements.set(connection, (statements = new Map()));
  let statement = statements.get(sql);
  if (!statement) statements.set(sql, (statement = connection.prepare(sql)));
  return statement;
}

function runSqlite(statement: Statement, parameters: unknown[]): StatementResult {
  if (statement.reader) return { records: statement.all(...parameters) as Array<Record<string, unknown>>, affected: 0 };
  return { records: [], affected: statement.run(...parameters).changes };
}

/** A database value for `property` of `target`, converted as TypeORM converts it (e.g. SQLite's datetime text). */
export function toDatabase<T extends ObjectLiteral>(m: EntityManager, target: EntityTarget<T>, property: keyof T & string, value: unknown): unknown {
  const column = m.connection.getMetadata(target).findColumnWithPropertyName(property);
  if (!column) throw new Error(`no column for ${property}`);
  return m.connection.driver.preparePersistentValue(value, column);
}

/** The first row (selected with property names as aliases) hydrated as TypeORM hydrates an entity, or null. */
export function firstRow<T extends ObjectLiteral>(m: EntityManager, target: EntityTarget<T>, result: StatementResult): T | null {
  const row = result.records[0];
  return row ? hydrate(m, target, row) : null;
}

/** Column lookups by entity and property name, made once: hydrating a row then only converts values. */
const columnsByEntity = new WeakMap<object, Map<string, ColumnMetadata | undefined>>();

/** `row` (keyed by property names) with each of `target`'s columns converted as TypeORM converts them. */
export function hydrate<T extends ObjectLiteral>(m: EntityManager, target: EntityTarget<T>, row: Record<string, unknown>): T {
  const metadata = m.connection.getMetadata(target);
  let columns = columnsByEntity.get(metadata);
  if (!columns) columnsByEntity.set(metadata, (columns = new Map()));
  const entity: Record<string, unknown> = {};
  for (const key in row) {
    let column = columns.get(key);
    if (column === undefined && !columns.has(key)) columns.set(key, (column = metadata.findColumnWithPropertyName(key)));
    entity[key] = column ? m.connection.driver.prepareHydratedValue(row[key], column) : row[key];
  }
  return entity as T;
}
