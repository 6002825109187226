import type { SyncResult, WalletSyncClient, WalletWatch, WatchOptions } from 'wallet-sync-client';

import { useTestServer } from '../../../tests/helpers/hooks';
import { ROOT_PASSWORD, openDevice, twoDevices } from '../helpers/devices';
import { startTcpProxy } from '../../../tests/helpers/tcp-proxy';

/**
 * watch() over the server's real graphql-ws endpoint: the watching device never
 * calls pull() or sync() itself; every update reaches it through walletUpdated.
 */
describe('watch(): live updates', () => {
  const server = useTestServer();

  /** Starts watching and records what happens, with a way to wait for a given sequence. */
  function watching(device: WalletSyncClient, extra: WatchOptions = {}) {
    const synced: SyncResult[] = [];
    const connections: boolean[] = [];
    const waiters: Array<() => void> = [];
    const wake = () => waiters.splice(0).forEach((resolve) => resolve());
    const watch: WalletWatch = device.watch({
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      ...extra,
      onSync: (result) => {
        synced.push(result);
        wake();
      },
      onConnected: (reconnected) => {
        connections.push(reconnected);
        wake();
      },
    });
    const until = async (condition: () => boolean, what: string, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    };
    return {
      watch,
      synced,
      connections,
      untilSequence: (sequence: number) => until(() => device.status().sequence === sequence, `${device.deviceId} to reach sequence ${sequence}`),
      untilConnected: (count = 1) => until(() => connections.length >= count, `${count} connection(s)`),
    };
  }

  it('when another device syncs, then the watching device catches up at once and again on every later update', async () => {
    const { c1, c2 } = await twoDevices(server);
    await c1.setPreference('animal', 'cow');
    await c1.sync();

    const live = watching(c2);
    // Subscribed with sinceSequence 0 while the server holds 1: the catch-up event comes first.
    await live.untilSequence(1);
    expect(c2.preferences()).toEqual({ animal: 'cow' });

    await c1.setPreference('car', 'Audi');
    await c1.sync();
    await live.untilSequence(2);
    await c1.setPreference('animal', 'beaver');
    await c1.sync();
    await live.untilSequence(3);

    expect(c2.preferences()).toEqual({ animal: 'beaver', car: 'Audi' });
    expect(live.synced.map(({ sequence, pulled, pushed }) => ({ sequence, pulled, pushed }))).toEqual(
      [1, 2, 3].map((sequence) => ({ sequence, pulled: true, pushed: false })),
    );
    await live.watch.stop();
    await expect(live.watch.done).resolves.toBeUndefined();
  });

  it('when the watching device has unsynced edits, then the sync an update triggers merges and uploads them', async () => {
    const { c1, c2 } = await twoDevices(server);
    await c1.sync();
    await c2.sync();
    await c2.setPreference('colour', 'red');
    const live = watching(c2);
    await live.untilConnected();

    await c1.setPreference('car', 'Toyota');
    await c1.sync();
    await live.untilSequence(3);
    expect(live.synced.at(-1)).toMatchObject({ pushed: true });
    await c1.sync();
    expect(c1.preferences()).toEqual({ car: 'Toyota', colour: 'red' });
    await live.watch.stop();
  });

  it('when the connection drops, then the watch reconnects with backoff and catches up on what it missed', async () => {
    const email = `watch-${Date.now()}@example.com`;
    const c1 = await openDevice(server, 'test_wallet_1');
    await c1.register(email, ROOT_PASSWORD);
    await c1.login();
    await c1.sync();
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(server.url).port));
    try {
      const c2 = await openDevice(server, 'test_wallet_2', { url: `http://127.0.0.1:${proxy.port}` });
      await c2.login({ email, rootPassword: ROOT_PASSWORD });
      const live = watching(c2);
      await live.untilSequence(1);
      await live.untilConnected(1);

      await proxy.cut();
      await c1.setPreference('animal', 'beaver');
      await c1.sync();
      await proxy.restore();

      await live.untilSequence(2);
      expect(live.connections).toContain(true);
      expect(c2.preferences()).toEqual({ animal: 'beaver' });

      // Stopped while it is trying to reconnect: it ends cleanly instead of retrying forever.
      await proxy.cut();
      await live.watch.stop();
      await expect(live.watch.done).resolves.toBeUndefined();
    } finally {
      await proxy.close();
    }
  });

  it('when the server is unreachable, then the watch keeps retrying and stop() still ends it cleanly', async () => {
    const { email } = await twoDevices(server);
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(server.url).port));
    try {
      const device = await openDevice(server, 'test_wallet_3', { url: `http://127.0.0.1:${proxy.port}` });
      await device.login({ email, rootPassword: ROOT_PASSWORD });
      await proxy.cut();
      const live = watching(device);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(live.connections).toEqual([]);
      await live.watch.stop();
      await expect(live.watch.done).resolves.toBeUndefined();
    } finally {
      await proxy.close();
    }
  });

  it('when this device logs in again while watching, then the watch carries on with the new token', async () => {
    const { email, c1, c2 } = await twoDevices(server);
    await c1.sync();
    const live = watching(c2);
    await live.untilSequence(1);

    await c2.login({ email, rootPassword: ROOT_PASSWORD });
    await c1.setPreference('car', 'Audi');
    await c1.sync();
    await live.untilSequence(2);
    expect(c2.preferences()).toEqual({ car: 'Audi' });
    await live.watch.stop();
  });

  it('when the password changes on another device, then the watch ends with UNAUTHENTICATED, saying to log in again', async () => {
    const { c1, c2 } = await twoDevices(server);
    await c1.sync();
    const live = watching(c2);
    await live.untilSequence(1);

    await c1.changePassword(ROOT_PASSWORD, 'a brand new root password');
    // Whichever tells the device first: the socket's close (4401, "Token revoked; log in again") or, when the
    // change's walletUpdated event came first, the read that followed it ("…expired or revoked: log in again").
    await expect(live.watch.done).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/revoked(;|:) log in again$/) });
  });

  it('when the device is not logged in, then watch refuses to start', async () => {
    const device = await openDevice(server, 'lonely');
    expect(() => device.watch()).toThrow(expect.objectContaining({ code: 'NOT_LOGGED_IN' }));
  });
});
