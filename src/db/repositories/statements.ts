import type { EntityManager, EntityTarget, ObjectLiteral, QueryResult } from 'typeorm';

/**
 * Plain parameterized SQL for the statements every request runs (token lookup,
 * wallet read, wallet compare-and-set). There the query builder cost several
 * times the statement itself, and it inlined ids and sequences into the SQL,
 * which defeated TypeORM's SQLite statement cache (see bench/ and the commit).
 * The statements still run on the manager's query runner (inside its
 * transaction, if any), and values pass through TypeORM's own column
 * conversions, so rows are exactly those the entity API reads and writes.
 */
export async function execute(m: EntityManager, sql: string, parameters: unknown[]): Promise<QueryResult> {
  const runner = m.queryRunner ?? m.connection.createQueryRunner();
  try {
    return await runner.query(sql, parameters, true);
  } finally {
    if (!m.queryRunner) await runner.release();
  }
}

/** A database value for `property` of `target`, converted as TypeORM converts it (e.g. SQLite's datetime text). */
export function toDatabase<T extends ObjectLiteral>(m: EntityManager, target: EntityTarget<T>, property: keyof T & string, value: unknown): unknown {
  const column = m.connection.getMetadata(target).findColumnWithPropertyName(property);
  if (!column) throw new Error(`no column for ${property}`);
  return m.connection.driver.preparePersistentValue(value, column);
}

/** The first row (selected with property names as aliases) hydrated as TypeORM hydrates an entity, or null. */
export function firstRow<T extends ObjectLiteral>(m: EntityManager, target: EntityTarget<T>, result: QueryResult): T | null {
  const row = (result.records as Array<Record<string, unknown>> | undefined)?.[0];
  return row ? hydrate(m, target, row) : null;
}

/** `row` (keyed by property names) with each of `target`'s columns converted as TypeORM converts them. */
export function hydrate<T extends ObjectLiteral>(m: EntityManager, target: EntityTarget<T>, row: Record<string, unknown>): T {
  const metadata = m.connection.getMetadata(target);
  const entity: Record<string, unknown> = {};
  for (const key of Object.keys(row)) {
    const column = metadata.findColumnWithPropertyName(key);
    entity[key] = column ? m.connection.driver.prepareHydratedValue(row[key], column) : row[key];
  }
  return entity as T;
}
