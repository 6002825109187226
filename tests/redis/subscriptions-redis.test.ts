import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startTestServer, type TestServer } from '../helpers/app';
import { login, register, upload } from '../../test-support/operations';
import { LogoutDocument } from '../../test-support/operations.generated';
import { assertRedisAnswers, describeWith, redisRequirement } from '../helpers/required-services';
import { eventually, subscribedAtSequence1, within, type LiveClient } from '../../test-support/subscriptions';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/**
 * One server on the real Redis, reached through a loopback proxy so that the
 * test can take Redis away from this server alone and give it back.
 */
describeWith([redisRequirement()], 'walletUpdated through Redis', () => {
  const prefix = `wst-${randomBytes(4).toString('hex')}:`;
  let proxy: TcpProxy;
  let server: TestServer;
  let watcher: Redis;
  const seenOnRedis: string[] = [];
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    const redisUrl = new URL(process.env.REDIS_URL!);
    await assertRedisAnswers(redisUrl.toString());
    proxy = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
    server = await startTestServer({ REDIS_URL: proxy.url(redisUrl), REDIS_CHANNEL_PREFIX: prefix });
    await eventually(async () => (await readiness()).body.redis === 'up', 5000, 'Redis up at start');
    // Listens on Redis itself, to see that events really travel through it.
    watcher = new Redis(redisUrl.toString());
    watcher.on('pmessage', (_pattern, channel, message) => seenOnRedis.push(`${channel.slice(prefix.length)} ${message}`));
    await watcher.psubscribe(`${prefix}*`);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(async () => {
    watcher?.disconnect();
    await server?.close();
    await proxy?.close();
  });

  const readiness = async () => {
    const response = await fetch(`${server.url}/readyz`);
    return { status: response.status, body: (await response.json()) as { status: string; redis: string } };
  };
  /** A device whose wallet is at sequence 1, subscribed. */
  async function subscribedDevice() {
    const { email, password } = await register(server);
    const phone = await login(server, email, password, 'phone');
    await upload(server, phone, 1);
    return { phone, ...(await subscribedAtSequence1(server.url, phone.token, clients)) };
  }
  async function cutRedis() {
    await proxy.cut();
    await eventually(async () => (await readiness()).body.redis === 'down', 5000, 'Redis reported down');
  }

  it('when a device uploads, then the event travels through Redis to the subscription', async () => {
    const { phone, subscription } = await subscribedDevice();
    await upload(server, phone, 2);
    expect(await subscription.next()).toBe(2);
    expect(seenOnRedis).toContainEqual(expect.stringMatching(/^WALLET_UPDATED:\d+ \{"sequence":2\}$/));
  });

  it('when Redis drops, then queries and mutations go on, /readyz says degraded, and on its return the subscription catches up and resumes', async () => {
    const { phone, subscription } = await subscribedDevice();

    await cutRedis();
    expect(await readiness()).toEqual({ status: 200, body: { status: 'degraded', redis: 'down' } });
    // The update lands although its event can't be published.
    expect((await upload(server, phone, 2)).__typename).toBe('WalletStateSuccess');
    expect((await server.gql('{ walletState { sequence } }', {}, phone.token)).body.data!.walletState.sequence).toBe(2);

    await proxy.restore();
    await eventually(async () => (await readiness()).body.redis === 'up', 10000, 'Redis reported up again');
    expect(await readiness()).toEqual({ status: 200, body: { status: 'ready', redis: 'up' } });
    // The event lost in the outage is made up for by reading the current sequence again...
    expect(await subscription.next(10000)).toBe(2);
    // ...and the subscription is back on Redis.
    await upload(server, phone, 3);
    expect(await subscription.next()).toBe(3);
  });

  it('when a revocation is lost while Redis is away, then the connection is closed once Redis returns', async () => {
    const { phone, client } = await subscribedDevice();

    await cutRedis();
    expect((await server.gql(LogoutDocument, {}, phone.token)).body.data!.logout).toBe(true);
    await proxy.restore();
    expect(await within(client.closed, 10000, 'close after Redis returned')).toEqual({ code: 4401, reason: 'Token revoked' });
  });
});
