import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import type { Database } from '../../src/db/database';
import type { AppOverrides } from '../../src/app';
import { startTestServer, type TestServer } from './app';
import { createTestDatabase, type TestDatabase } from '../../test-support/database';
import { TestSmtpServer, codeMailTo } from './smtp';

// The helpers that register jest hooks (beforeAll, afterAll): kept apart from test-support/, which the benchmark
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

/**
 * A real server (startTestServer) for the tests of the describe block it is
 * called in: started before them, closed after them. Reads as the TestServer
 * itself; call at the top of a describe block.
 */
export function useTestServer(env: Record<string, string> = {}, overrides: AppOverrides = {}): TestServer {
  let started: TestServer | undefined;
  beforeAll(async () => {
    started = await startTestServer(env, overrides);
  });
  afterAll(() => started?.close());
  return lazyServer(() => started);
}

/**
 * An SMTP server on loopback and a server in EmailVerify mode that mails
 * through it, for the tests of the describe block; `mailed(email)` waits for
 * the code mail to that address. `env` adds to (or overrides) the mail settings.
 */
export function useEmailVerifyServer(env: Record<string, string> = {}) {
  const smtp = new TestSmtpServer();
  let started: TestServer | undefined;
  beforeAll(async () => {
    const smtpUrl = await smtp.start();
    started = await startTestServer({ ACCOUNT_VERIFICATION_MODE: 'EmailVerify', SMTP_URL: smtpUrl, MAIL_FROM: 'noreply@example.org', PUBLIC_URL: 'https://w.example', ...env });
  });
  afterAll(async () => {
    await started?.close();
    await smtp.stop();
  });
  const server = lazyServer(() => started);
  return { server, smtp, mailed: (email: string) => codeMailTo(smtp, server.app, email) };
}

/** The server `current()` returns once beforeAll has started it, readable as a TestServer from the start. */
function lazyServer(current: () => TestServer | undefined): TestServer {
  const server = (): TestServer => {
    const started = current();
    if (!started) throw new Error('the test server starts in beforeAll');
    return started;
  };
  return {
    get app() {
      return server().app;
    },
    get url() {
      return server().url;
    },
    get database() {
      return server().database;
    },
    gql: (operation, variables, token) => server().gql(operation, variables, token),
    close: () => server().close(),
  };
}
