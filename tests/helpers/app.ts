import pino from 'pino';
import { createApp, type App, type AppOverrides } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createTestDatabase, type TestDatabase } from '../../test-support/database';
import { apiAt, type GraphQLApi } from '../../test-support/graphql-http';
import { TEST_ENV } from '../../test-support/test-env';

/** A server in the test's own process, on a database of its own. */
export interface TestServer extends GraphQLApi {
  app: App;
  url: string;
  database: TestDatabase;
  close(): Promise<void>;
}

/** A real server on a random loopback port, on a database of its own. */
export async function startTestServer(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<TestServer> {
  const database = await createTestDatabase();
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: database.url, ...env });
  const app = await createApp(config, { logger: pino({ level: 'silent' }), ...overrides });
  const url = await app.listen();
  return {
    app,
    url,
    database,
    ...apiAt(url),
    async close() {
      await app.close();
      await database.drop();
    },
  };
}
