import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import type { Database } from '../../src/db/database';
import { createTestDatabase, type TestDatabase } from './database';

// The helpers that register jest hooks (beforeAll, afterAll): apart from database.ts and app.ts, which the benchmark
// shares and compiles without jest's types.

/**
 * A migrated database of this test file's own, opened as the server opens it,
 * for tests below HTTP (repositories, services): opened before the file's tests,
 * closed and dropped after them. Call at the top of a describe block.
 */
export function useTestDatabase(): { readonly db: Database } {
  let testDb: TestDatabase;
  const opened: { db?: Database } = {};
  beforeAll(async () => {
    testDb = await createTestDatabase();
    opened.db = await openDatabase(loadConfig({ DATABASE_URL: testDb.url }).database);
  });
  afterAll(async () => {
    await opened.db?.close();
    await testDb?.drop();
  });
  return {
    get db() {
      if (!opened.db) throw new Error('the test database opens in beforeAll');
      return opened.db;
    },
  };
}
