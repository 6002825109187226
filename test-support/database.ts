import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rmSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { Client } from 'pg';
import type { EntityManager } from 'typeorm';
import type { Database } from '../src/db/database';
import type { AccountRow } from '../src/db/entities/account.entity';
import { dialectNamed } from '../src/db/dialects';
import { AccountRepository } from '../src/db/repositories/account.repository';
import { execute } from '../src/db/repositories/statements';
import { normalizeEmail } from '../src/lib/email';

/**
 * Each test file gets a database of its own: a temporary SQLite file, or, when
 * DATABASE_URL points at a database server, a fresh database on that
 * server that is dropped afterwards. A server that is not there fails the
 * test: it never silently falls back to SQLite.
 */
export interface TestDatabase {
  dialect: TestDialect;
  /** The DATABASE_URL for this test's own database. */
  url: string;
  drop(): Promise<void>;
}

export type TestDialect = 'sqlite' | 'mysql' | 'postgres';

export function testDialect(url = process.env.DATABASE_URL): TestDialect {
  if (url && /^(mysql|mariadb):/.test(url)) return 'mysql';
  if (url && /^postgres(ql)?:/.test(url)) return 'postgres';
  return 'sqlite';
}

/**
 * Whether this database's schema history has the migration `name` (its class
 * name without the timestamp). A database that came later (PostgreSQL) starts
 * at the current schema, with no older databases to bring forward, so tests of
 * such a migration's data conversion have nothing to run there.
 */
export function hasMigration(name: string, dialect: TestDialect = testDialect()): boolean {
  return dialectNamed(dialect).migrations.some((migration) => migration.name.startsWith(name));
}

/** `serverUrl`: a mysql:// or postgres:// URL whose server hosts the new database; unset for SQLite. The benchmark passes its own. */
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
  if (testDialect(serverUrl) === 'postgres') return createPostgresDatabase(name, serverUrl!);
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

/** The server's maintenance database hosts the CREATE and DROP: a database cannot drop itself. */
async function createPostgresDatabase(name: string, serverUrl: string): Promise<TestDatabase> {
  const maintenance = new URL(serverUrl);
  maintenance.pathname = '/postgres';
  const onServer = async (sql: string) => {
    const client = new Client({ connectionString: maintenance.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await onServer(`CREATE DATABASE "${name}" ENCODING 'UTF8' TEMPLATE template0`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    dialect: 'postgres',
    url: url.toString(),
    // FORCE ends connections a test left open (a server process that was killed), which would otherwise block the drop.
    drop: () => onServer(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

let accountSerial = 0;

/** Inserts an account straight through the repository; a unique email each time. */
export async function insertAccount(
  db: Database,
  fields: Partial<Omit<AccountRow, 'id'>> = {},
): Promise<{ id: number; email: string }> {
  accountSerial += 1;
  const email = fields.email ?? `account-${process.pid}-${accountSerial}@example.com`;
  const id = await db.run((m) =>
    new AccountRepository().insert(m, {
      email,
      emailNormalized: normalizeEmail(email),
      passwordHash: 'not-a-hash',
      clientSaltSeed: 'ab'.repeat(32),
      verified: true,
      keyN: 2 ** 17,
      keyR: 8,
      keyP: 1,
      createdAt: new Date('2026-01-01T00:00:00Z'),
      ...fields,
    }),
  );
  if (id === 'taken') throw new Error(`${email} has an account already`);
  return { id, email };
}

/**
 * The rows of one statement written as the repositories write them (`?`
 * placeholders, camelCase aliases), which the dialect renders for its database.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function queryRows(m: EntityManager, sql: string, parameters: unknown[] = []): Promise<Array<Record<string, any>>> {
  return (await execute(m, sql, parameters)).records;
}
