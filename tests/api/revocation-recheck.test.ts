import { randomBytes } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { Database } from '../../src/db/database';
import { startTestServer, type TestServer } from '../helpers/app';
import { useTestServer } from '../helpers/hooks';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { login, register, registerAndLogin, upload } from '../helpers/operations';
import { LogoutDocument } from '../helpers/operations.generated';
import { assertRedisAnswers, describeWith, redisRequirement } from '../helpers/services';
import { connectLive, eventually, subscribedAtSequence1, within, type LiveClient } from '../helpers/subscriptions';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

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

/**
 * Two instances sharing a database and Redis; the one that revokes reaches
 * Redis through a proxy the test cuts, so the revocation's event is lost and
 * only the periodic recheck on the other can close the socket.
 */
describeWith([redisRequirement()], 'the periodic token recheck', () => {
  const redisUrl = process.env.REDIS_URL!;
  const RECHECK_SECONDS = 1;
  let proxy: TcpProxy;
  let revoking: TestServer;
  let holding: TestServer;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    await assertRedisAnswers(redisUrl);
    const direct = new URL(redisUrl);
    proxy = await startTcpProxy(direct.hostname, Number(direct.port || 6379));
    const shared = { REDIS_CHANNEL_PREFIX: `wst-${randomBytes(4).toString('hex')}:`, WS_TOKEN_RECHECK_SECONDS: String(RECHECK_SECONDS) };
    holding = await startTestServer({ ...shared, REDIS_URL: redisUrl });
    revoking = await startTestServer({ ...shared, REDIS_URL: proxy.url(redisUrl), DATABASE_URL: holding.database.url });
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await revoking?.close();
    await holding?.close();
    await proxy?.close();
  });

  const redisOf = async (server: TestServer) => ((await (await fetch(`${server.url}/readyz`)).json()) as { redis: string }).redis;

  it('when the instance that revokes a token cannot reach Redis, then the socket on another instance is closed with 4401 within WS_TOKEN_RECHECK_SECONDS', async () => {
    const { email, password } = await register(holding);
    const phone = await login(holding, email, password, 'phone');
    const laptop = await login(holding, email, password, 'laptop');
    await upload(holding, phone, 1);
    const revoked = await subscribedAtSequence1(holding.url, phone.token, clients);
    const kept = await subscribedAtSequence1(holding.url, laptop.token, clients);

    await proxy.cut();
    await eventually(async () => (await redisOf(revoking)) === 'down', 10_000, 'the revoking instance without Redis');
    // The phone logs out through the instance that cannot publish the revocation.
    expect((await revoking.gql(LogoutDocument, {}, phone.token)).body.data).toEqual({ logout: true });
    const loggedOutAt = Date.now();

    expect(await within(revoked.client.closed, RECHECK_SECONDS * 1000 + 4000, 'the revoked socket closed')).toEqual({ code: 4401, reason: 'Token revoked' });
    // The recheck runs every second; the rest of the margin is for a loaded machine.
    expect(Date.now() - loggedOutAt).toBeLessThan(RECHECK_SECONDS * 1000 + 4000);
    // The laptop's token still works, so its socket stays and keeps hearing updates.
    await upload(holding, laptop, 2);
    expect(await kept.subscription.next()).toBe(2);
    await proxy.restore();
  });

  it('when nothing was revoked, then the recheck closes nothing', async () => {
    const device = await registerAndLogin(holding);
    await upload(holding, device, 1);
    const live = await subscribedAtSequence1(holding.url, device.token, clients);
    const connectionsBefore = holding.app.http.subscriptions.connectionCount();
    // Three rechecks go by.
    await new Promise((resolve) => setTimeout(resolve, RECHECK_SECONDS * 3000 + 200));
    expect(holding.app.http.subscriptions.connectionCount()).toBe(connectionsBefore);
    await upload(holding, device, 2);
    expect(await live.subscription.next()).toBe(2);
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
