import WebSocket from 'ws';
import type { WalletSyncClient, WalletSyncClientOptions, WalletWatch } from 'wallet-sync-client';

import { useTestServer } from '../../../tests/helpers/hooks';
import { ROOT_PASSWORD, openDevice, twoDevices } from '../helpers/devices';

/**
 * A watching device's sync over its live connection (protocol 3, "Operations
 * over the live connection"): what the server counts per transport tells
 * where each operation went.
 */
describe('a watching device syncs over its live connection', () => {
  const server = useTestServer();
  const watches: WalletWatch[] = [];
  afterEach(async () => {
    await Promise.all(watches.splice(0).map((watch) => watch.stop()));
  });

  /** How many `operation`s the server answered over `transport`. */
  async function served(operation: string, transport: 'http' | 'websocket'): Promise<number> {
    const { values } = await server.app.metrics.graphqlRequests.get();
    return values.filter((v) => v.labels.operation === operation && v.labels.transport === transport).reduce((sum, v) => sum + v.value, 0);
  }

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

  describe('when the socket drops while a push is in flight', () => {
    it('then the push lands exactly once, over HTTP, whether the server ran it or not, and both devices agree', async () => {
      const { email, c1, c2 } = await twoDevices(server);
      await c1.setPreference('n', '0');
      await c1.sync();
      // The device's WebSocket drops at a chosen point of the next upload: before it leaves ('unsent': the server
      // never runs it), or once the server has answered, with the answer lost ('unanswered': it ran).
      let dropAt: 'unsent' | 'unanswered' | null = null;
      let uploadId: string | null = null;
      class DroppingWebSocket extends WebSocket {
        override send(data: unknown, ...rest: unknown[]): void {
          const message = JSON.parse(String(data)) as { id?: string; type: string; payload?: { query?: string } };
          if (dropAt && message.type === 'subscribe' && message.payload?.query?.includes('updateWalletState')) {
            if (dropAt === 'unsent') return this.dropped();
            uploadId = message.id ?? null;
          }
          (super.send as (...args: unknown[]) => void)(data, ...rest);
        }
        override emit(event: string | symbol, ...args: unknown[]): boolean {
          if (event === 'message' && uploadId !== null) {
            const message = JSON.parse(String(args[0])) as { id?: string; type: string };
            if (message.id === uploadId) {
              if (message.type === 'complete') this.dropped();
              return true;
            }
          }
          return super.emit(event, ...args);
        }
        private dropped(): void {
          dropAt = null;
          uploadId = null;
          this.terminate();
        }
      }
      const watcher = await openDevice(server, 'test_wallet_3', { webSocket: DroppingWebSocket as unknown as WalletSyncClientOptions['webSocket'] });
      await watcher.login({ email, rootPassword: ROOT_PASSWORD });
      await watcher.pull();
      let connections = 0;
      const watch = watcher.watch({ reconnect: { initialDelayMs: 20, maxDelayMs: 50 }, onConnected: () => (connections += 1) });
      watches.push(watch);

      const written = async (result: string) => (await server.app.metrics.walletWrites.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
      const uploadsOverHttp = () => served('updateWalletState', 'http');
      for (const [round, drop] of (['unsent', 'unanswered', 'unsent', 'unanswered'] as const).entries()) {
        await until(() => connections === round + 1, 'the live connection to be up');
        const before = { sequence: watcher.status().sequence ?? 0, landed: await written('success'), resent: await written('retry'), http: await uploadsOverHttp() };
        await watcher.setPreference('n', String(round + 1));
        dropAt = drop;
        const pushed = await watcher.push();

        expect(pushed.kind).toBe('success');
        expect(watcher.status().sequence).toBe(before.sequence + 1);
        // One state landed once; after the drop the device sent it again over HTTP, which the server answered as
        // already current when it had run the first ('retry'), and stored when it had not.
        expect((await written('success')) - before.landed).toBe(1);
        expect((await written('retry')) - before.resent).toBe(drop === 'unanswered' ? 1 : 0);
        expect((await uploadsOverHttp()) - before.http).toBe(1);
        await c2.pull();
        expect([c2.preferences(), c2.status().sequence]).toEqual([{ n: String(round + 1) }, before.sequence + 1]);
      }
    });
  });
});

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
