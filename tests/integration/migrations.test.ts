import { openDatabase } from '../../src/db/data-source';
import type { Database } from '../../src/db/database';
import { loadConfig } from '../../src/config';
import { createTestDatabase, testDialect, type TestDatabase } from '../helpers/database';

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
