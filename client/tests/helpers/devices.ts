import {
  compareEntries,
  MemoryDeviceStateStore,
  WalletSyncClient,
  type DeviceStateStore,
  type KeyParams,
  type PreferenceEntry,
  type WalletSyncClientOptions,
} from 'wallet-sync-client';
import type { TestServer } from '../../../tests/helpers/app';
import { uniqueEmail } from '../../../test-support/operations';

/**
 * The cheapest key parameters the protocol allows (N=2^14 is its minimum; r=1
 * makes a derivation 2 MiB and a few ms), so tests stay fast and still pass the
 * bounds every client and the server check. The PROTOCOL vectors check the real costs.
 */
export const TEST_KEY_PARAMS: KeyParams = { n: 2 ** 14, r: 1, p: 1 };
/** For the CLI's --scrypt-cost (it sets N; r stays 8): the protocol's minimum. */
export const TEST_SCRYPT_COST = 2 ** 14;
export const ROOT_PASSWORD = '123abc2 root password';

export function openDevice(
  server: Pick<TestServer, 'url'>,
  deviceId: string,
  options: Partial<WalletSyncClientOptions> & { store?: DeviceStateStore } = {},
): Promise<WalletSyncClient> {
  return WalletSyncClient.open({ url: server.url, deviceId, store: new MemoryDeviceStateStore(), keyParams: TEST_KEY_PARAMS, ...options });
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

/**
 * Both devices hold the same preferences, and they are what the merge rule
 * makes of every edit made (`edits`: each key's entries, from either device):
 * each edited key's latest entry. Neither has anything left to upload, and both
 * are at the same sequence.
 */
export function expectConverged(c1: WalletSyncClient, c2: WalletSyncClient, edits: ReadonlyMap<string, readonly PreferenceEntry[]>): void {
  const expected = Object.fromEntries(
    [...edits].filter(([, entries]) => entries.length > 0).map(([key, entries]) => [key, entries.reduce((a, b) => (compareEntries(a, b) >= 0 ? a : b))]),
  );
  expect(c1.document().preferences).toEqual(expected);
  expect(c2.document().preferences).toEqual(expected);
  expect(c1.status()).toMatchObject({ unsyncedKeys: [], sequence: c2.status().sequence });
  expect(c2.status().unsyncedKeys).toEqual([]);
}
