import type BetterSqlite3 from 'better-sqlite3';

/** The better-sqlite3 constructor, as TypeORM and the admin tools use it. */
export type SqliteDriver = typeof BetterSqlite3;

/**
 * Which better-sqlite3 build a Node version loads. Line 12 (the one TypeORM 1.1 peers on) wraps its objects in
 * node::ObjectWrap, whose destructor aborts the whole process on Node 24.19 and later when the garbage
 * collector frees a statement outside a JavaScript context (nodejs/node#65446; our suite died of it on
 * Node 24.21). Line 13 is built on Node-API, ships its binaries for every platform inside the package and is
 * unaffected, but it needs Node 22 and crashes on Node 20. Both are installed (13 under the alias
 * better-sqlite3-napi) and each Node loads the one it can run: the database file is the same either way.
 */
export function sqliteDriverModule(nodeVersion: string): 'better-sqlite3' | 'better-sqlite3-napi' {
  return Number(nodeVersion.split('.')[0]) >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';
}

export function sqliteDriver(): SqliteDriver {
  return require(sqliteDriverModule(process.versions.node)) as SqliteDriver;
}
