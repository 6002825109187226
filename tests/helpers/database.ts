import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rmSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import type { Database } from '../../src/db/database';

/**
 * Each test file gets a database of its own: a temporary SQLite file, or, when
 * DATABASE_URL points at MySQL/MariaDB, a fresh database on that server that is
 * dropped afterwards. A MySQL server that is not there fails the test: it never
 * silently falls back to SQLite.
 */
export interface TestDatabase {
  dialect: 'sqlite' | 'mysql';
  /** The DATABASE_URL for this test's own database. */
  url: string;
  drop(): Promise<void>;
}

export function testDialect(url = process.env.DATABASE_URL): 'sqlite' | 'mysql' {
  return url && /^(mysql|mariadb):/.test(url) ? 'mysql' : 'sqlite';
}

/** `serverUrl`: a mysql:// URL whose server hosts the new database; unset for SQLite. The benchmark passes its own. */
export async function createTestDatabase(serverUrl = process.env.DATABASE_URL): Promise<TestDatabase> {
  const name = `wst_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (testDialect(serverUrl) === 'sqlite') {
    const file = path.join(tmpdir(), `${name}.sqlite`);
    return {
      dialect: 'sqlite',
      url: `sqlite:${file}`,
      drop: async () => {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      },
    };
  }
  const server = new URL(serverUrl!.replace(/^mariadb:/, 'mysql:'));
  const admin = await mysql.createConnection({
    host: server.hostname,
    port: Number(server.port || 3306),
    user: decodeURIComponent(server.username),
    password: decodeURIComponent(server.password),
  });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const url = new URL(server.toString());
  url.pathname = `/${name}`;
  return {
    dialect: 'mysql',
    url: url.toString(),
    drop: async () => {
      const conn = await mysql.createConnection({
        host: server.hostname,
        port: Number(server.port || 3306),
        user: decodeURIComponent(server.username),
        password: decodeURIComponent(server.password),
      });
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}

/**
 * A migrated database of this test's own, opened as the server opens it, for
 * tests below HTTP (repositories, services). `close()` closes and drops it.
 */
export async function openTestDatabase(): Promise<{ db: Database; dialect: 'sqlite' | 'mysql'; close(): Promise<void> }> {
  const testDb = await createTestDatabase();
  const db = await openDatabase(loadConfig({ DATABASE_URL: testDb.url }).database);
  return {
    db,
    dialect: testDb.dialect,
    async close() {
      await db.close();
      await testDb.drop();
    },
  };
}
