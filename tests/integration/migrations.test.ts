import { DataSource } from 'typeorm';
import { dataSourceOptions, openDatabase } from '../../src/db/data-source';
import type { Database } from '../../src/db/database';
import { loadConfig } from '../../src/config';
import { createTestDatabase, hasMigration, testDialect, type TestDatabase } from '../../test-support/database';

describe(`migrations on ${testDialect()}`, () => {
  let testDb: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await openDatabase(loadConfig({ DATABASE_URL: testDb.url }).database);
  });
  afterAll(async () => {
    await db.close();
    await testDb.drop();
  });

  it('when every migration has run, then the schema matches the entities exactly (no pending DDL)', async () => {
    const pending = await db.dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('when opened again, then no migration runs twice', async () => {
    expect(await db.dataSource.showMigrations()).toBe(false);
    const again = await openDatabase(loadConfig({ DATABASE_URL: testDb.url }).database);
    await again.close();
  });

  it('when migrations are reverted, then they undo cleanly and can be applied again', async () => {
    const count = db.dataSource.migrations.length;
    for (let i = 0; i < count; i += 1) await db.dataSource.undoLastMigration({ transaction: 'each' });
    expect(await db.dataSource.showMigrations()).toBe(true);
    await db.dataSource.runMigrations({ transaction: 'each' });
    const pending = await db.dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries).toEqual([]);
  });

  if (testDialect() === 'sqlite') {
    it('when SQLite is opened, then it runs in WAL mode with synchronous=FULL and foreign keys on', async () => {
      const [journal] = await db.dataSource.query('PRAGMA journal_mode');
      const [sync] = await db.dataSource.query('PRAGMA synchronous');
      const [fk] = await db.dataSource.query('PRAGMA foreign_keys');
      expect(journal.journal_mode).toBe('wal');
      expect(sync.synchronous).toBe(2); // 2 = FULL
      expect(fk.foreign_keys).toBe(1);
    });
  }
});

/**
 * A database as it was before the migration named `name` (its class name without the timestamp): every earlier
 * migration has run. `query` takes MySQL's quoting and adapts it to the others'; close it before opening the database.
 */
async function databaseBefore(url: string, name: string) {
  const config = loadConfig({ DATABASE_URL: url }).database;
  const options = dataSourceOptions(config);
  const all = options.migrations as Function[];
  const index = all.findIndex((m) => m.name.startsWith(name));
  if (index < 0) throw new Error(`no migration ${name}`);
  const before = new DataSource({ ...options, migrations: all.slice(0, index) } as typeof options);
  await before.initialize();
  await before.runMigrations({ transaction: 'each' });
  return {
    config,
    query: (sql: string) => before.query(config.dialect === 'mysql' ? sql : sql.replace(/`/g, '"')),
    close: () => before.destroy(),
  };
}

(hasMigration('WalletHistory') ? describe : describe.skip)(`the wallet history migration on ${testDialect()}`, () => {
  let testDb: TestDatabase;

  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb.drop());

  it('when a database from before wallet history is migrated, then each wallet\'s current state gets its header and each device with a token is known', async () => {
    const { config, query: q, close } = await databaseBefore(testDb.url, 'WalletHistory');
    await q("INSERT INTO accounts (id, email, email_normalized, password_hash, client_salt_seed, verified, created_at) VALUES (7, 'a@x.org', 'a@x.org', 'h', 's', 1, '2026-01-01 00:00:00.000')");
    await q("INSERT INTO accounts (id, email, email_normalized, password_hash, client_salt_seed, verified, created_at) VALUES (8, 'b@x.org', 'b@x.org', 'h', 's', 1, '2026-01-01 00:00:00.000')");
    await q("INSERT INTO wallets (account_id, encrypted_wallet, hmac, sequence, updated_at) VALUES (7, 'wället', 'hmac-42', 42, '2026-02-03 04:05:06.789')");
    await q("INSERT INTO auth_tokens (account_id, device_id, token_hash, created_at, last_used_at, expires_at) VALUES (7, 'Phone', 'th1', '2026-01-02 00:00:00.000', '2026-01-02 00:00:00.000', '2027-01-01 00:00:00.000')");
    await close();

    const db = await openDatabase(config);
    try {
      const versions = await db.dataSource.query('SELECT account_id, sequence, hmac, device_id, bytes, encrypted_wallet FROM wallet_versions');
      expect(versions.map((v: Record<string, unknown>) => ({ ...v, account_id: Number(v.account_id) }))).toEqual([
        { account_id: 7, sequence: 42, hmac: 'hmac-42', device_id: null, bytes: Buffer.byteLength('wället'), encrypted_wallet: 'wället' },
      ]);
      const known = await db.dataSource.query('SELECT account_id, device_id FROM known_devices');
      expect(known.map((k: Record<string, unknown>) => [Number(k.account_id), k.device_id])).toEqual([[7, 'Phone']]);
    } finally {
      await db.close();
    }
  });
});

(hasMigration('SecondFactor') ? describe : describe.skip)(`the second factor migration on ${testDialect()}`, () => {
  let testDb: TestDatabase;

  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb.drop());

  it('when a database from before the second factor is migrated, then its LOGIN events say they were by password and the others name no method', async () => {
    const { config, query: q, close } = await databaseBefore(testDb.url, 'SecondFactor');
    await q("INSERT INTO accounts (id, email, email_normalized, password_hash, client_salt_seed, verified, created_at) VALUES (7, 'a@x.org', 'a@x.org', 'h', 's', 1, '2026-01-01 00:00:00.000')");
    await q("INSERT INTO account_events (account_id, at, kind) VALUES (7, '2026-01-02 00:00:00.000', 'LOGIN')");
    await q("INSERT INTO account_events (account_id, at, kind) VALUES (7, '2026-01-03 00:00:00.000', 'LOGOUT')");
    await close();

    const db = await openDatabase(config);
    try {
      const events = await db.dataSource.query('SELECT kind, login_method, method FROM account_events ORDER BY at');
      expect(events.map((e: Record<string, unknown>) => ({ ...e }))).toEqual([
        { kind: 'LOGIN', login_method: 'PASSWORD', method: null },
        { kind: 'LOGOUT', login_method: null, method: null },
      ]);
    } finally {
      await db.close();
    }
  });
});
