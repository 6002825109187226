import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../helpers/app';
import { login, register, registerAndLogin, upload } from '../../test-support/operations';
import { LogoutDocument } from '../../test-support/operations.generated';
import { assertRedisAnswers, describeWith, redisRequirement } from '../helpers/required-services';
import { eventually, subscribedAtSequence1, within, type LiveClient } from '../../test-support/subscriptions';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

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
