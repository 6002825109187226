import { randomBytes } from 'node:crypto';
import { admin } from '../helpers/admin';
import { startTestServer, type TestServer } from '../helpers/app';
import { registerAndLogin } from '../../test-support/operations';
import { assertRedisAnswers, describeWith, redisRequirement } from '../helpers/required-services';
import { connectLive, eventually, within, type LiveClient } from '../../test-support/subscriptions';

/** wallet-sync-admin revoking a device's token while the device is connected to a server that shares its Redis. */
describeWith([redisRequirement()], 'tokens revoke through Redis', () => {
  const prefix = `wst-admin-${randomBytes(4).toString('hex')}:`;
  let server: TestServer;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    await assertRedisAnswers(process.env.REDIS_URL!);
    server = await startTestServer({ REDIS_URL: process.env.REDIS_URL!, REDIS_CHANNEL_PREFIX: prefix });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await server?.close();
  });

  it('when an operator revokes a device, then its live subscription on the server is closed with 4401 Token revoked', async () => {
    const device = await registerAndLogin(server, 'watcher');
    const live = connectLive(server.url, device.token);
    clients.push(live);
    await within(live.connected, 5000, 'connection_init acknowledged');
    live.subscribe(null);
    // Wait for the server's Redis connections: a revocation published before they are ready is lost (as documented),
    // and only the periodic recheck, 60 s away, would close the socket.
    await eventually(() => server.app.transport.health() === 'up', 10_000, "the server's Redis connections ready");
    const run = await admin(
      { DATABASE_URL: server.database.url, REDIS_URL: process.env.REDIS_URL!, REDIS_CHANNEL_PREFIX: prefix },
      'tokens',
      'revoke',
      device.email,
      '--device',
      'watcher',
      '--json',
    );
    expect(run.code).toBe(0);
    expect(run.json.liveConnections).toMatch(/every instance/);
    // Through Redis, well before the periodic recheck (WS_TOKEN_RECHECK_SECONDS, 60 s), with room for a loaded machine.
    expect(await within(live.closed, 15_000, 'socket closed')).toEqual({ code: 4401, reason: 'Token revoked' });
  });
});
