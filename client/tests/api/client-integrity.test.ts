import { randomBytes } from 'node:crypto';
import { MemoryDeviceStateStore, encryptWallet, walletStateHmac, type DeviceState, type WalletSyncClient } from 'wallet-sync-client';

import { useTestServer } from '../../../tests/helpers/hooks';
import { ROOT_PASSWORD, openDevice, twoDevices } from '../helpers/devices';
import { UpdateWalletStateDocument } from '../../../test-support/operations.generated';

/**
 * What a device does with a wallet state it must not trust: one that is forged
 * or corrupted is refused with a clear error, and the device keeps everything
 * it had, in memory and on disk. A server that went back in time is not
 * refused but healed (client-history.test.ts has the rest of that).
 */
describe('downloaded wallet states the client refuses', () => {
  const server = useTestServer();

  async function storedState(store: MemoryDeviceStateStore): Promise<DeviceState> {
    return (await store.load())!;
  }

  /** Uploads a state as the server (or anyone holding a token) could, bypassing the client. */
  async function uploadRaw(token: string, input: { sequence: number; encryptedWallet: string; hmac: string }) {
    const response = await server.gql(UpdateWalletStateDocument, { input }, token);
    expect(response.body.data!.updateWalletState.__typename).toBe('WalletStateSuccess');
  }

  /** Runs operations that download, expecting each to fail with `code` and to leave the device untouched. */
  async function expectRefused(device: WalletSyncClient, store: MemoryDeviceStateStore, code: string, operations: Array<'pull' | 'sync' | 'push'> = ['pull', 'sync', 'push']) {
    const saved = await storedState(store);
    const document = device.document();
    const status = device.status();
    for (const operation of operations) await expect(device[operation]()).rejects.toMatchObject({ code });
    expect(await storedState(store)).toEqual(saved);
    expect(device.document()).toEqual(document);
    expect(device.status()).toEqual(status);
  }

  async function devicesAtSequenceOne() {
    const [c1Store, store] = [new MemoryDeviceStateStore(), new MemoryDeviceStateStore()];
    const { email, c1, c2 } = await twoDevices(server, {}, [c1Store, store]);
    await c1.setPreference('animal', 'cow');
    await c1.sync();
    await c2.sync();
    await c2.setPreference('car', 'Audi');
    return { email, c1, c1State: await storedState(c1Store), c2, store };
  }

  it('when the server holds a state whose hmac does not verify, then pull, sync and push refuse it with WALLET_HMAC_MISMATCH and change nothing', async () => {
    const { c1State, c2, store } = await devicesAtSequenceOne();
    const encryptedWallet = await encryptWallet({ preferences: {} }, Buffer.from(c1State.keys!.walletKey, 'hex'));
    await uploadRaw(c1State.authToken!.token, { sequence: 2, encryptedWallet, hmac: await walletStateHmac(randomBytes(32), 2, encryptedWallet) });

    await expectRefused(c2, store, 'WALLET_HMAC_MISMATCH');
    expect(c2.preferences()).toEqual({ animal: 'cow', car: 'Audi' });
    expect(c2.status()).toMatchObject({ sequence: 1, unsyncedKeys: ['car'] });
  });

  it('when a state is signed with the HMAC key but not encrypted under the wallet key, then it is refused with WALLET_DECRYPT_FAILED', async () => {
    const { c1State, c2, store } = await devicesAtSequenceOne();
    const encryptedWallet = await encryptWallet({ preferences: {} }, randomBytes(32));
    const hmacKey = Buffer.from(c1State.keys!.hmacKey, 'hex');
    await uploadRaw(c1State.authToken!.token, { sequence: 2, encryptedWallet, hmac: await walletStateHmac(hmacKey, 2, encryptedWallet) });

    await expectRefused(c2, store, 'WALLET_DECRYPT_FAILED');
  });

  it('when the server goes back to no wallet at all (the account was lost and re-created), then the device reports a rollback, keeps its data and re-uploads it', async () => {
    const store = new MemoryDeviceStateStore();
    const { email, c1: registrar, c2: device } = await twoDevices(server, {}, [new MemoryDeviceStateStore(), store]);
    for (const animal of ['cow', 'horse', 'beaver']) {
      await device.setPreference('animal', animal);
      await device.sync();
    }
    expect(device.status().sequence).toBe(3);

    // The account disappears (as after a restore from a backup older than it) and is registered again.
    await registrar.deleteAccount(ROOT_PASSWORD);
    const c3 = await openDevice(server, 'test_wallet_3');
    await c3.register(email, ROOT_PASSWORD);
    await c3.login();
    await device.login({ email, rootPassword: ROOT_PASSWORD });

    const pulled = await device.pull();
    expect(pulled).toMatchObject({ walletState: null, divergence: { kind: 'rollback', reason: 'sequence-went-back', seen: { sequence: 3 }, server: null } });
    expect(device.preferences()).toEqual({ animal: 'beaver' });
    expect(device.status()).toMatchObject({ sequence: null, unsyncedKeys: ['animal'] });

    await expect(device.sync()).resolves.toMatchObject({ sequence: 1, pushed: true, divergence: null });
    await c3.sync();
    expect(c3.preferences()).toEqual({ animal: 'beaver' });
  });

  it('when another history was started on the server meanwhile, then the device reports a fork, merges onto it (the later write wins each key) and uploads', async () => {
    const store = new MemoryDeviceStateStore();
    const { email, c1: registrar, c2: device } = await twoDevices(server, {}, [new MemoryDeviceStateStore(), store]);
    await device.setPreference('animal', 'beaver');
    await device.setPreference('car', 'Audi');
    await device.sync();
    expect(device.status().sequence).toBe(1);
    await device.setPreference('colour', 'green');
    await device.sync();
    await device.setPreference('colour', 'blue');
    await device.sync();
    expect(device.status().sequence).toBe(3);

    await registrar.deleteAccount(ROOT_PASSWORD);
    const c3 = await openDevice(server, 'test_wallet_3');
    await c3.register(email, ROOT_PASSWORD);
    await c3.login();
    await c3.setPreference('animal', 'impostor');
    await c3.sync();
    await c3.setPreference('city', 'Paris');
    await c3.sync();
    expect(c3.status().sequence).toBe(2);
    await device.login({ email, rootPassword: ROOT_PASSWORD });

    const result = await device.sync();
    expect(result).toMatchObject({ pulled: false, pushed: true, sequence: 3, divergence: { kind: 'fork', reason: 'sequence-went-back', seen: { sequence: 3 }, server: { sequence: 2 } } });
    // Nothing of either history is lost: c3's later animal wins, the device's car and colour are kept.
    expect(device.preferences()).toEqual({ animal: 'impostor', car: 'Audi', colour: 'blue', city: 'Paris' });
    await c3.sync();
    expect(c3.preferences()).toEqual(device.preferences());
  });
});
