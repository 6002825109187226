import WebSocket from 'ws';
import {
  KeyValueDeviceStateStore,
  WalletSyncClient,
  portableScrypt,
  type KeyValueStorage,
  type SyncResult,
  type WalletSyncClientOptions,
} from 'wallet-sync-client/portable';

import { useTestServer } from '../../../tests/helpers/hooks';
import { ROOT_PASSWORD, TEST_KEY_PARAMS } from '../helpers/devices';
import { uniqueEmail } from '../../../test-support/operations';

/** React Native's AsyncStorage, as far as the client uses it: string values under string keys, behind promises. */
class AsyncStorageLike implements KeyValueStorage {
  readonly items = new Map<string, string>();
  async getItem(key: string): Promise<string | null> {
    return this.items.get(key) ?? null;
  }
  async setItem(key: string, value: string): Promise<void> {
    this.items.set(key, value);
  }
}

/**
 * The portable entry (what a React Native or browser bundle gets) with the
 * adapters an app passes there: a key-value storage, the platform's WebSocket
 * (here `ws` in its place) and the portable scrypt; randomness and AES/HMAC/SHA
 * come from Web Crypto. Nothing from the Node entry is loaded in this file.
 */
describe('the portable client with app-provided adapters', () => {
  const server = useTestServer();

  const open = (deviceId: string, storage: KeyValueStorage, extra: Partial<WalletSyncClientOptions> = {}) =>
    WalletSyncClient.open({
      url: server.url,
      deviceId,
      store: new KeyValueDeviceStateStore(storage),
      keyParams: TEST_KEY_PARAMS,
      scrypt: portableScrypt,
      webSocket: WebSocket,
      ...extra,
    });

  it('when two devices register, sync and watch through the adapters, then the second gets the first\'s edit live and both storages hold their state', async () => {
    const [phoneStorage, tabletStorage] = [new AsyncStorageLike(), new AsyncStorageLike()];
    const email = uniqueEmail('portable');
    const phone = await open('phone', phoneStorage);
    await phone.register(email, ROOT_PASSWORD);
    await phone.login();
    const tablet = await open('tablet', tabletStorage);
    await tablet.login({ email, rootPassword: ROOT_PASSWORD });
    await tablet.sync();

    const synced = new Promise<SyncResult>((resolve) => {
      const watch = tablet.watch({ onSync: (result) => void watch.stop().then(() => resolve(result)), onConnected: () => void phone.setPreference('theme', 'dark').then(() => phone.sync()) });
    });
    await expect(synced).resolves.toMatchObject({ sequence: 2, pulled: true });
    expect(tablet.preferences()).toEqual({ theme: 'dark' });

    const stored = JSON.parse(tabletStorage.items.get('wallet-sync/device-state')!);
    expect(stored).toMatchObject({ deviceId: 'tablet', base: { sequence: 2 } });
    expect(Object.keys(stored.keys)).toEqual(['hmacKey', 'walletKey']);
    // A restarted app reads its state back from the storage.
    const reopened = await open('tablet', tabletStorage);
    expect(reopened.preferences()).toEqual({ theme: 'dark' });
  });

  it('when the stored state is not JSON, then open() fails with LOCAL_STATE_INVALID naming the storage key', async () => {
    const storage = new AsyncStorageLike();
    storage.items.set('wallet-sync/device-state', '{not json');
    await expect(open('phone', storage)).rejects.toMatchObject({ code: 'LOCAL_STATE_INVALID', message: expect.stringContaining('wallet-sync/device-state') });
  });
});
