import path from 'node:path';
import type { EntityManager } from 'typeorm';
import type { DatabaseConfig, Dialect, DialectName } from './dialect';
import { mysql } from './mysql';
import { postgres } from './postgres';
import { sqlite } from './sqlite';

export type { DatabaseConfig, Dialect, DialectName, Failure, PoolStats, StatementResult } from './dialect';

/** Every database the server runs on. A new one is a module implementing Dialect, added here. */
const DIALECTS: readonly Dialect[] = [sqlite, mysql, postgres];

/** Without DATABASE_URL: the embedded database, in ./data. */
const DEFAULT_DATABASE: DatabaseConfig = { dialect: sqlite.name, url: path.resolve('data', 'wallet-sync.sqlite') };

export function dialectNamed(name: DialectName): Dialect {
  const dialect = DIALECTS.find((candidate) => candidate.name === name);
  if (!dialect) throw new Error(`no database dialect named ${name}`);
  return dialect;
}

/** The dialect of the connection `m` runs on (found by TypeORM's driver type, which each dialect has its own of). */
export function dialectOf(m: EntityManager): Dialect {
  const type = m.connection.options.type;
  const dialect = DIALECTS.find((candidate) => candidate.driverType === type);
  if (!dialect) throw new Error(`no database dialect for TypeORM's ${type} driver`);
  return dialect;
}

/**
 * DATABASE_URL's syntax (also how the admin command reads migrate-to's
 * target): the scheme picks the dialect. Throws a message naming what is wrong.
 */
export function parseDatabaseUrl(value: string | undefined): DatabaseConfig {
  if (value === undefined) return DEFAULT_DATABASE;
  const dialect = DIALECTS.find((candidate) => candidate.schemes.some((scheme) => value.startsWith(scheme)));
  if (!dialect) throw new Error(`must be one of ${DIALECTS.map((candidate) => candidate.exampleUrl).join(', ')}`);
  let url: string;
  try {
    url = dialect.parseUrl(value);
  } catch (error) {
    throw new Error(error instanceof TypeError ? 'is not a valid URL' : (error as Error).message);
  }
  return { dialect: dialect.name, url };
}
