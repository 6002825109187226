import { MemoryDeviceStateStore, WalletSyncClient, type DeviceStateStore, type WalletSyncClientOptions } from 'wallet-sync-client';
import type { TestServer } from './app';
import { uniqueEmail } from './operations';

/** Cheap scrypt for tests; the PROTOCOL vectors check the real cost. */
export const TEST_SCRYPT_COST = 2 ** 10;
export const ROOT_PASSWORD = '123abc2 root password';

export function openDevice(
  server: Pick<TestServer, 'url'>,
  deviceId: string,
  options: Partial<WalletSyncClientOptions> & { store?: DeviceStateStore } = {},
): Promise<WalletSyncClient> {
  return WalletSyncClient.open({ url: server.url, deviceId, store: new MemoryDeviceStateStore(), scryptCost: TEST_SCRYPT_COST, ...options });
}

/** One account, two logged-in devices (c1 registered it), the way the walkthrough starts. */
export async function twoDevices(
  server: Pick<TestServer, 'url'>,
  options: Partial<Omit<WalletSyncClientOptions, 'store'>> = {},
  stores: [DeviceStateStore, DeviceStateStore] = [new MemoryDeviceStateStore(), new MemoryDeviceStateStore()],
) {
  const email = uniqueEmail('joe2');
  const c1 = await openDevice(server, 'test_wallet_1', { ...options, store: stores[0] });
  const c2 = await openDevice(server, 'test_wallet_2', { ...options, store: stores[1] });
  await c1.register(email, ROOT_PASSWORD);
  await c1.login();
  await c2.login({ email, rootPassword: ROOT_PASSWORD });
  return { email, c1, c2 };
}

/** A small seeded PRNG (mulberry32), so a failing interleaving of edits can be replayed by its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
