import { openDatabase } from '../../src/db/data-source';
import { sqliteDriverModule } from '../../src/db/dialects/sqlite-driver';
import { loadConfig } from '../../src/config';
import { createTestDatabase } from '../../test-support/database';

describe('the better-sqlite3 build each Node loads', () => {
  it.each([
    ['20.19.0', 'better-sqlite3'],
    ['20.20.2', 'better-sqlite3'],
    ['22.13.0', 'better-sqlite3-napi'],
    ['24.21.0', 'better-sqlite3-napi'],
    ['26.1.0', 'better-sqlite3-napi'],
  ])('when Node is %s, then it loads %s', (version, module) => {
    expect(sqliteDriverModule(version)).toBe(module);
  });

  it('when the server opens an SQLite database, then TypeORM runs the build this Node can run', async () => {
    const testDb = await createTestDatabase('');
    const db = await openDatabase(loadConfig({ DATABASE_URL: testDb.url }).database);
    try {
      const driver = db.dataSource.driver as unknown as { sqlite: unknown };
      expect(driver.sqlite).toBe(require(sqliteDriverModule(process.versions.node)));
      const [row] = await db.dataSource.query('SELECT sqlite_version() AS version');
      expect(row.version).toMatch(/^3\./);
    } finally {
      await db.close();
      await testDb.drop();
    }
  });
});
