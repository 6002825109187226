import { createHook } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../helpers/app';
import { registerAndLogin, upload } from '../../test-support/operations';
import { LogoutDocument } from '../../test-support/operations.generated';
import { assertRedisAnswers, describeWith, redisRequirement } from '../helpers/required-services';
import { eventually, subscribedAtSequence1, within, type LiveClient } from '../../test-support/subscriptions';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/**
 * A server whose Redis is slow to answer when a connection opens (a loaded
 * machine, a distant Redis): a proxy holds back the first answers on each of its
 * connections, so the server subscribes while its subscriber is still in the
 * connection handshake: to revocations at start-up (on MariaDB, whose queries
 * let the connection get that far first), and to an account's wallet updates
 * when a device subscribes just as Redis comes back. The subscriptions must
 * survive that, or revoked sockets stay open until the periodic recheck and
 * devices miss updates.
 */
describeWith([redisRequirement()], 'a server whose Redis answers slowly when a connection opens', () => {
  let redisUrl: URL;
  let proxy: TcpProxy;
  let server: TestServer;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    redisUrl = new URL(process.env.REDIS_URL!);
    await assertRedisAnswers(redisUrl.toString());
    proxy = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379), { holdRepliesMs: 1500 });
    server = await startTestServer({ REDIS_URL: proxy.url(redisUrl), REDIS_CHANNEL_PREFIX: `wst-${randomBytes(4).toString('hex')}:` });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await server?.close();
    await proxy?.close();
  });

  it('when a device logs out, then its live subscription is closed with 4401 through Redis, long before the periodic recheck', async () => {
    await eventually(() => server.app.transport.health() === 'up', 5000, 'Redis up');
    const device = await registerAndLogin(server);
    await upload(server, device, 1);
    const { client } = await subscribedAtSequence1(server.url, device.token, clients);
    expect((await server.gql(LogoutDocument, {}, device.token)).body.data!.logout).toBe(true);
    // The periodic recheck is 60 s away (WS_TOKEN_RECHECK_SECONDS): only the event through Redis closes it within this.
    expect(await within(client.closed, 5000, 'the revoked socket closes')).toEqual({ code: 4401, reason: 'Token revoked' });
  });

  it('when a device subscribes while the server reconnects to Redis, then it hears the next update through Redis', async () => {
    const device = await registerAndLogin(server);
    await upload(server, device, 1);
    await proxy.cut();
    await eventually(() => server.app.transport.health() === 'down', 5000, 'Redis down');
    // Both of the server's connections (commands, subscriber) come back, and stay in their handshake for a while.
    const reconnected = proxy.nextConnections(2);
    await proxy.restore();
    await within(reconnected, 10_000, 'both connections back');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.app.transport.health()).toBe('down');

    const { subscription } = await subscribedAtSequence1(server.url, device.token, clients);
    await eventually(() => server.app.transport.health() === 'up', 5000, 'Redis up again');
    await upload(server, device, 2);
    expect(await subscription.next()).toBe(2);
  });
});

/**
 * Issue 25, item 15: a server that found Redis at once left the 3 s start-up
 * wait for it pending, so a jest worker whose last file started such a server
 * could not exit ("A worker process has failed to exit gracefully").
 */
describeWith([redisRequirement()], 'a server that found its Redis at once', () => {
  it('when it is closed, then none of the timers it started is left holding the process alive', async () => {
    await assertRedisAnswers(process.env.REDIS_URL!);
    // The timers started while the server starts and closes, until each fires or is cleared; unref'd ones hold no process.
    const pending = new Map<number, { hasRef?: () => boolean }>();
    let tracking = true;
    const hook = createHook({
      init: (id, type, _trigger, resource) => void (tracking && type === 'Timeout' && pending.set(id, resource as { hasRef?: () => boolean })),
      destroy: (id) => void pending.delete(id),
    }).enable();
    try {
      const server = await startTestServer({ REDIS_URL: process.env.REDIS_URL!, REDIS_CHANNEL_PREFIX: `wst-${randomBytes(4).toString('hex')}:` });
      await server.close();
      tracking = false;
      const holding = () => [...pending.values()].filter((timer) => timer.hasRef?.() !== false).length;
      // What closing itself schedules (ioredis's disconnection) may take a moment; a jest worker gets 500 ms to exit.
      await eventually(() => holding() === 0, 400, 'no timer holding the process').catch(() => undefined);
      expect(holding()).toBe(0);
    } finally {
      hook.disable();
    }
  });
});
