import { randomBytes } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { Database } from '../../src/db/database';
import { startTestServer, type TestServer } from '../helpers/app';
import { useTestServer } from '../helpers/hooks';
import { createTestDatabase, type TestDatabase } from '../../test-support/database';
import { login, register, registerAndLogin } from '../../test-support/operations';
import { LogoutDocument } from '../../test-support/operations.generated';
import { connectLive, within, type LiveClient } from '../../test-support/subscriptions';

/**
 * The real database, with a gate a test can close: the next token look-up (the
 * first unit of work whose result is a token row) runs, and its result is then
 * held back from its caller until the gate opens. Other work (background
 * writes of an earlier request) passes. The hold is outside the SQLite mutex,
 * so other requests go on meanwhile.
 */
class GatedDatabase extends Database {
  private gate: { reached: () => void; open: Promise<void> } | undefined;

  arm(): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    const open = new Promise<void>((resolve) => (release = resolve));
    this.gate = { reached, open };
    return { reached: reachedPromise, release };
  }

  override async run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.hold(await super.run(work));
  }

  override async statement<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.hold(await super.statement(work));
  }

  private async hold<T>(result: T): Promise<T> {
    const gate = this.gate;
    if (gate && isTokenRow(result)) {
      this.gate = undefined;
      gate.reached();
      await gate.open;
    }
    return result;
  }
}

const isTokenRow = (value: unknown) =>
  typeof value === 'object' && value !== null && ['id', 'accountId', 'deviceId', 'expiresAt'].every((key) => key in value);

describe('a token revoked while its WebSocket is being set up', () => {
  let database: TestDatabase;
  let gated: GatedDatabase;
  let server: TestServer;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    const opened = await openDatabase(loadConfig({ DATABASE_URL: database.url }).database);
    gated = new GatedDatabase(opened.dataSource, opened.dialect);
    server = await startTestServer({ DATABASE_URL: database.url }, { database: gated });
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await server.close();
    await database.drop();
  });

  it('when the token is revoked after connection_init checked it but before the connection is tracked, then the connection is closed with 4401 all the same', async () => {
    const device = await registerAndLogin(server);
    // The next token look-up is connection_init's.
    const gate = gated.arm();
    const client = connectLive(server.url, device.token);
    clients.push(client);
    let acknowledged = false;
    void client.connected.then(() => (acknowledged = true));
    // connection_init's look-up has read a valid token and waits at the gate...
    await within(gate.reached, 5000, 'the WebSocket token look-up');
    // ...while the device logs out: the revocation finds no tracked connection to close.
    expect((await server.gql(LogoutDocument, {}, device.token)).body.data).toEqual({ logout: true });
    gate.release();
    expect(await within(client.closed, 5000, 'the connection closed')).toEqual({ code: 4401, reason: 'Unauthorized' });
    expect(acknowledged).toBe(false);
  });
});

describe('SessionService.stillValid, the batched check below the recheck', () => {
  const server = useTestServer();

  it('when tokens are live, logged out, replaced by a new login of the same device, or unknown, then only the live ones are returned, across batches', async () => {
    const { sessions } = server.app.services;
    const { email, password } = await register(server);
    const kept = await login(server, email, password, 'kept');
    const loggedOut = await login(server, email, password, 'gone');
    await server.gql(LogoutDocument, {}, loggedOut.token);
    const replaced = await login(server, email, password, 'replaced');
    const replacement = await login(server, email, password, 'replaced');
    // More than one batch of 500, most of them unknown.
    const unknown = Array.from({ length: 1100 }, () => randomBytes(32).toString('base64url'));
    const valid = await sessions.stillValid([...unknown, kept.token, loggedOut.token, replaced.token, replacement.token]);
    expect([...valid].sort()).toEqual([kept.token, replacement.token].sort());
  });
});
