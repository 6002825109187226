import type { ConnectOptions, WalletConnection, WalletSyncClient, WalletWatch } from 'wallet-sync-client';

import { useTestServer } from '../../../tests/helpers/hooks';
import { ROOT_PASSWORD, openDevice, twoDevices } from '../helpers/devices';
import { controlledWebSockets, served as servedBy, until } from '../helpers/live-sockets';

const NEW_ROOT_PASSWORD = 'a brand new root password';
/** The operations the client sends over its live connection. */
const LIVE_OPERATIONS = ['walletState', 'updateWalletState', 'walletHistory', 'walletVersion', 'accountActivity'] as const;

/**
 * connect(): a device holds its live connection without watching, and its
 * sync, history, restore and activity go over it (protocol 3, "Operations over
 * the live connection"). What the server counts per transport tells where each
 * operation went; the device's WebSockets are the real `ws` ones, counted, and
 * cut on demand.
 */
describe('connect(): the live connection without watching', () => {
  const server = useTestServer();
  const holds: Array<WalletConnection | WalletWatch> = [];
  afterEach(async () => {
    await Promise.all(holds.splice(0).map((hold) => ('stop' in hold ? hold.stop() : hold.disconnect())));
  });

  const served = (operation: string, transport: 'http' | 'websocket') => servedBy(server, operation, transport);
  /** Each live operation's count over `transport`. */
  const countsOver = async (transport: 'http' | 'websocket') =>
    Object.fromEntries(await Promise.all(LIVE_OPERATIONS.map(async (operation) => [operation, await served(operation, transport)] as const)));

  let edits = 0;
  /** Edits `device` and syncs it: one upload, over the transport this answers. */
  async function uploadTransport(device: WalletSyncClient): Promise<'http' | 'websocket'> {
    const before = { http: await served('updateWalletState', 'http'), websocket: await served('updateWalletState', 'websocket') };
    await device.setPreference('n', String((edits += 1)));
    await device.sync();
    const over = { http: (await served('updateWalletState', 'http')) - before.http, websocket: (await served('updateWalletState', 'websocket')) - before.websocket };
    expect(over.http + over.websocket).toBe(1);
    return over.http ? 'http' : 'websocket';
  }

  /** One account with a wallet at sequence 1, its two devices (c1, c2), and a third logged-in one whose WebSockets the test controls. */
  async function thirdDevice() {
    const { c1, c2 } = await twoDevices(server);
    await c1.sync();
    const sockets = controlledWebSockets();
    const device = await openDevice(server, 'test_wallet_3', { webSocket: sockets.webSocket });
    await device.login({ email: c1.email!, rootPassword: ROOT_PASSWORD });
    return { c1, c2, sockets, device };
  }

  /** Connects and resolves once the connection is up, counting the (re)connections. */
  async function connected(device: WalletSyncClient, options: ConnectOptions = {}) {
    const ups: boolean[] = [];
    const connection = device.connect({ reconnect: { initialDelayMs: 20, maxDelayMs: 50 }, ...options, onConnected: (reconnected) => ups.push(reconnected) });
    holds.push(connection);
    await until(() => ups.length > 0, 'the live connection to be up');
    return { connection, ups };
  }

  it('when a device connects, then its pull, push, sync, history, restore and activity go over the socket; after disconnect(), over HTTP', async () => {
    const { c1, c2 } = await twoDevices(server);
    await c1.setPreference('color', 'blue');
    await c1.sync();
    const { connection } = await connected(c1);

    const httpBefore = await countsOver('http');
    const socketBefore = await countsOver('websocket');
    await c1.setPreference('color', 'green');
    await c1.sync();
    await c1.pull();
    await c1.setPreference('car', 'Audi');
    await c1.push();
    expect((await c1.history()).map((entry) => entry.sequence)).toEqual([3, 2, 1]);
    await c1.restore(1);
    expect((await c1.activity()).length).toBeGreaterThan(0);

    expect(await countsOver('http')).toEqual(httpBefore);
    const socketAfter = await countsOver('websocket');
    for (const operation of LIVE_OPERATIONS) expect([operation, socketAfter[operation]! > socketBefore[operation]!]).toEqual([operation, true]);
    await c2.sync();
    expect(c2.preferences()).toEqual({ color: 'blue' });

    await connection.disconnect();
    await expect(connection.done).resolves.toBeUndefined();
    await c1.setPreference('color', 'red');
    await c1.sync();
    expect((await countsOver('websocket')).updateWalletState).toBe(socketAfter.updateWalletState);
    expect((await countsOver('http')).updateWalletState).toBe(httpBefore.updateWalletState! + 1);
  });

  it('when the socket is down, then the operations go over HTTP, and over the socket again once it reconnects', async () => {
    const { sockets, device } = await thirdDevice();
    const { ups } = await connected(device);

    sockets.cut();
    expect(await uploadTransport(device)).toBe('http');

    sockets.restore();
    await until(() => ups.length === 2, 'the reconnection');
    expect(ups).toEqual([false, true]);
    expect(await uploadTransport(device)).toBe('websocket');
  });

  it('when the device also watches, then connect() and watch() share one socket, which closes with the last of them', async () => {
    const { c2, sockets, device } = await thirdDevice();
    const { connection } = await connected(device);
    let watched = false;
    const watch = device.watch({ onConnected: () => (watched = true), onSync: () => undefined });
    holds.push(watch);
    await until(() => watched, 'the watch to be on the connection');

    await c2.setPreference('animal', 'cow');
    await c2.sync();
    await until(() => device.status().sequence === 2, 'the watch to take in the update');
    await watch.stop();
    expect(await uploadTransport(device)).toBe('websocket');
    expect(sockets.opened()).toBe(1);

    await connection.disconnect();
    expect(await uploadTransport(device)).toBe('http');
    expect(sockets.opened()).toBe(1);
  });

  it.each([
    ['logs out', (device: WalletSyncClient) => device.logout()],
    ['deletes its account', (device: WalletSyncClient) => device.deleteAccount(ROOT_PASSWORD)],
  ])('when the device %s, then the connection closes and done resolves', async (_, end) => {
    const { sockets, device } = await thirdDevice();
    const { connection } = await connected(device);
    let watchDone = false;
    void device.watch().done.then(() => (watchDone = true));

    await end(device);
    await expect(connection.done).resolves.toBeUndefined();
    await until(() => watchDone, 'the watch to end');
    expect(device.status().loggedIn).toBe(false);
    expect(sockets.opened()).toBe(1);
  });

  it('when this device changes its password, then the connection carries on with the new token', async () => {
    const { c2, sockets, device } = await thirdDevice();
    const { ups } = await connected(device);

    await device.changePassword(ROOT_PASSWORD, NEW_ROOT_PASSWORD);
    // The server closed the old token's socket (4401); the device opened one with its new token.
    await until(() => ups.length === 2, 'the connection with the new token');
    expect(sockets.opened()).toBe(2);
    expect(await uploadTransport(device)).toBe('websocket');
    await expect(c2.sync()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('when the password changes on another device, then done rejects with UNAUTHENTICATED and the device stays off the socket until it logs in', async () => {
    const { c1, sockets, device } = await thirdDevice();
    const { connection } = await connected(device);

    await c1.changePassword(ROOT_PASSWORD, NEW_ROOT_PASSWORD);
    await expect(connection.done).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/log in again$/) });
    // As over HTTP: the token is refused; nothing reconnects with it (4401 is final).
    await expect(device.sync()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sockets.opened()).toBe(1);

    await device.login({ email: c1.email!, rootPassword: NEW_ROOT_PASSWORD });
    await connected(device);
    expect(sockets.opened()).toBe(2);
  });

  it('when the device is not logged in, then connect() refuses with NOT_LOGGED_IN', async () => {
    const device = await openDevice(server, 'lonely');
    expect(() => device.connect()).toThrow(expect.objectContaining({ code: 'NOT_LOGGED_IN' }));
  });
});
