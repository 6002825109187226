import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { dialectOf, type StatementResult } from '../dialects';

export type { StatementResult };

/**
 * Plain parameterized SQL for the statements every request runs (token lookup,
 * wallet read, wallet compare-and-set), prepared once per connection and
 * reused, on the connections TypeORM manages: inside the manager's
 * transaction when it has one. TypeORM's query path around such a statement
 * (query runner, logger and subscriber broadcasts, several promise hops) cost
 * more than the statement itself. Values pass through TypeORM's own column
 * conversions, so rows are exactly those the entity API reads and writes, and
 * failures are TypeORM's QueryFailedError as before. Each dialect runs the
 * statement its own way (Dialect.execute): write `?` placeholders and
 * camelCase aliases.
 */
export function execute(m: EntityManager, sql: string, parameters: unknown[]): Promise<StatementResult> {
  return dialectOf(m).execute(m, sql, parameters);
}

/**
 * Claims the rows of `table` that `where` selects until the transaction ends, without changing them, and answers
 * whether there was one: `column` (a number) is negated and at once restored, so no other transaction ever sees the
 * negated value. The claim is a write, not a locking read: on a Galera cluster a `SELECT … FOR UPDATE` is local to
 * its node and certification compares only the rows each transaction wrote, so two transactions that only read a row
 * through different nodes both commit (write skew). Of two claimants of one row, one waits for or loses to the other,
 * on one database or across nodes.
 */
export async function claimRows(m: EntityManager, table: string, column: string, where: string, parameters: unknown[]): Promise<boolean> {
  const negate = `UPDATE ${table} SET ${column} = -${column} WHERE ${where}`;
  if ((await execute(m, negate, parameters)).affected === 0) return false;
  await execute(m, negate, parameters);
  return true;
}

/** A database value for `property` of `target`, converted as TypeORM converts it (e.g. a date-time stored as text). */
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
