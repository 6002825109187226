import type { WalletConnection, WalletSyncClient, WalletWatch } from 'wallet-sync-client';

import { useTestServer } from '../../../tests/helpers/hooks';
import { ROOT_PASSWORD, openDevice, twoDevices } from '../helpers/devices';
import { controlledWebSockets, served as servedBy, until } from '../helpers/live-sockets';

/**
 * A device's sync over its live connection (protocol 3, "Operations over the
 * live connection"), held by watch() or connect(): what the server counts per
 * transport tells where each operation went.
 */
describe('a watching device syncs over its live connection', () => {
  const server = useTestServer();
  const watches: WalletWatch[] = [];
  const connections: WalletConnection[] = [];
  afterEach(async () => {
    await Promise.all([...watches.splice(0).map((watch) => watch.stop()), ...connections.splice(0).map((connection) => connection.disconnect())]);
  });

  const served = (operation: string, transport: 'http' | 'websocket') => servedBy(server, operation, transport);

  async function counts() {
    return {
      readsOverSocket: await served('walletState', 'websocket'),
      writesOverSocket: await served('updateWalletState', 'websocket'),
      readsOverHttp: await served('walletState', 'http'),
      writesOverHttp: await served('updateWalletState', 'http'),
    };
  }

  /** Starts watching and resolves once the connection is up. */
  async function watchUntilConnected(device: WalletSyncClient): Promise<WalletWatch> {
    let connected!: () => void;
    const up = new Promise<void>((resolve) => (connected = resolve));
    const watch = device.watch({ reconnect: { initialDelayMs: 50, maxDelayMs: 200 }, onConnected: () => connected() });
    watches.push(watch);
    await up;
    return watch;
  }

  it('when a device watches, then its pull, push, sync and history go over the socket; when it stops, over HTTP again', async () => {
    const { c1, c2 } = await twoDevices(server);
    await c1.setPreference('color', 'blue');
    await c1.sync();
    const watch = await watchUntilConnected(c1);

    const before = await counts();
    await c1.setPreference('color', 'green');
    await c1.sync();
    await c1.pull();
    expect((await c1.history()).map((entry) => entry.sequence)).toContain(2);
    const during = await counts();
    expect(during.readsOverSocket).toBeGreaterThanOrEqual(before.readsOverSocket + 2);
    expect(during.writesOverSocket).toBe(before.writesOverSocket + 1);
    expect(await served('walletHistory', 'websocket')).toBeGreaterThan(0);
    expect([during.readsOverHttp, during.writesOverHttp]).toEqual([before.readsOverHttp, before.writesOverHttp]);
    await c2.pull();
    expect(c2.preferences()).toEqual({ color: 'green' });

    await watch.stop();
    await c1.setPreference('color', 'red');
    await c1.sync();
    const after = await counts();
    expect(after.writesOverSocket).toBe(during.writesOverSocket);
    expect(after.writesOverHttp).toBe(during.writesOverHttp + 1);
  });

  describe.each(['watch()', 'connect()'] as const)('when the socket drops while a push is in flight, held by %s', (holder) => {
    it('then the push lands exactly once, over HTTP, whether the server ran it or not, and both devices agree', async () => {
      const { email, c1, c2 } = await twoDevices(server);
      await c1.setPreference('n', '0');
      await c1.sync();
      const sockets = controlledWebSockets();
      const device = await openDevice(server, 'test_wallet_3', { webSocket: sockets.webSocket });
      await device.login({ email, rootPassword: ROOT_PASSWORD });
      await device.pull();
      let connected = 0;
      const options = { reconnect: { initialDelayMs: 20, maxDelayMs: 50 }, onConnected: () => (connected += 1) };
      if (holder === 'watch()') watches.push(device.watch(options));
      else connections.push(device.connect(options));

      const written = async (result: string) => (await server.app.metrics.walletWrites.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
      const uploadsOverHttp = () => served('updateWalletState', 'http');
      for (const [round, drop] of (['unsent', 'unanswered', 'unsent', 'unanswered'] as const).entries()) {
        await until(() => connected === round + 1, 'the live connection to be up');
        const before = { sequence: device.status().sequence ?? 0, landed: await written('success'), resent: await written('retry'), http: await uploadsOverHttp() };
        await device.setPreference('n', String(round + 1));
        sockets.dropNextUpload(drop);
        const pushed = await device.push();

        expect(pushed.kind).toBe('success');
        expect(device.status().sequence).toBe(before.sequence + 1);
        // One state landed once; after the drop the device sent it again over HTTP, which the server answered as
        // already current when it had run the first ('retry'), and stored when it had not.
        expect((await written('success')) - before.landed).toBe(1);
        expect((await written('retry')) - before.resent).toBe(drop === 'unanswered' ? 1 : 0);
        expect((await uploadsOverHttp()) - before.http).toBe(1);
        await c2.pull();
        expect([c2.preferences(), c2.status().sequence]).toEqual([{ n: String(round + 1) }, before.sequence + 1]);
      }
      // The server's history holds each state once: no upload doubled, none lost.
      expect((await c2.history()).map((entry) => [entry.sequence, entry.deviceId])).toEqual([
        ...[5, 4, 3, 2].map((sequence) => [sequence, 'test_wallet_3']),
        [1, 'test_wallet_1'],
      ]);
      // One socket at a time: the fifth connection replaced the fourth.
      await until(() => connected === 5, 'the last reconnection');
      expect(sockets.opened()).toBe(5);
    });
  });
});

