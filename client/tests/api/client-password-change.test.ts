import { MemoryDeviceStateStore, WalletSyncError, type DeviceState } from 'wallet-sync-client';

import { useTestServer } from '../../../tests/helpers/hooks';
import { ROOT_PASSWORD, openDevice, twoDevices } from '../helpers/devices';

const NEW_ROOT_PASSWORD = 'a brand new root password';

/** A store that lets a test act between two of the client's saves (here: another device's upload). */
class StoreWithHook extends MemoryDeviceStateStore {
  beforeNextSave?: () => Promise<void>;

  override async save(state: DeviceState): Promise<void> {
    const hook = this.beforeNextSave;
    this.beforeNextSave = undefined;
    await hook?.();
    await super.save(state);
  }
}

describe('changePassword()', () => {
  const server = useTestServer();

  it('when one device changes the password, then the other\'s next sync fails with UNAUTHENTICATED and recovers after login() with the new root password', async () => {
    const { email, c1, c2 } = await twoDevices(server);
    await c1.setPreference('animal', 'cow');
    await c1.sync();
    await c2.sync();
    // An edit c2 has not uploaded yet must survive the re-login.
    await c2.setPreference('car', 'Audi');

    await c1.changePassword(ROOT_PASSWORD, NEW_ROOT_PASSWORD);
    // c1 logged itself in again and reads the wallet it re-encrypted.
    expect(c1.status()).toMatchObject({ loggedIn: true, sequence: 2 });
    await expect(c1.sync()).resolves.toMatchObject({ sequence: 2, pushed: false });

    const before = c2.document();
    await expect(c2.sync()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(c2.document()).toEqual(before);
    await expect(c2.login({ email, rootPassword: ROOT_PASSWORD })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    // The device keeps no password, so it cannot log in again by itself: the app must ask for the (new) root password.
    await expect(c2.login()).rejects.toMatchObject({ code: 'NOT_LOGGED_IN' });

    await c2.login({ email, rootPassword: NEW_ROOT_PASSWORD });
    await expect(c2.sync()).resolves.toMatchObject({ sequence: 3, pushed: true });
    await c1.sync();
    expect(c1.preferences()).toEqual({ animal: 'cow', car: 'Audi' });
    expect(c2.preferences()).toEqual({ animal: 'cow', car: 'Audi' });
  });

  it('when a new device logs in after the change, then it fetches the new seed and reads the re-encrypted wallet', async () => {
    const { email, c1 } = await twoDevices(server);
    await c1.setPreference('animal', 'horse');
    await c1.sync();
    await c1.changePassword(ROOT_PASSWORD, NEW_ROOT_PASSWORD);

    const c3 = await openDevice(server, 'test_wallet_3');
    await c3.login({ email, rootPassword: NEW_ROOT_PASSWORD });
    await expect(c3.pull()).resolves.toMatchObject({ walletState: { sequence: 2 }, lostEdits: [] });
    expect(c3.preferences()).toEqual({ animal: 'horse' });
  });

  it('when another device uploads while the password changes, then the change merges that upload, retries and loses nothing', async () => {
    const store = new StoreWithHook();
    const { email, c1, c2 } = await twoDevices(server, {});
    const changer = await openDevice(server, 'test_wallet_4', { store });
    await changer.login({ email, rootPassword: ROOT_PASSWORD });
    await c1.sync();
    await changer.setPreference('animal', 'beaver');
    await c2.sync();
    await c2.setPreference('car', 'Toyota');

    // After the changer read the wallet (sequence 1) and before it sends changePassword, c2 lands sequence 2.
    store.beforeNextSave = async () => {
      await c2.sync();
    };
    await changer.changePassword(ROOT_PASSWORD, NEW_ROOT_PASSWORD);

    expect(changer.status()).toMatchObject({ sequence: 3, unsyncedKeys: [] });
    expect(changer.preferences()).toEqual({ animal: 'beaver', car: 'Toyota' });
    await c1.login({ email, rootPassword: NEW_ROOT_PASSWORD });
    await c1.sync();
    expect(c1.preferences()).toEqual({ animal: 'beaver', car: 'Toyota' });
  });

  it('when the account has no wallet yet, then the password changes without one and the first sync uploads sequence 1', async () => {
    const { email, c1, c2 } = await twoDevices(server);
    await c1.setPreference('animal', 'cow');
    await c1.changePassword(ROOT_PASSWORD, NEW_ROOT_PASSWORD);
    await expect(c1.sync()).resolves.toMatchObject({ sequence: 1, pushed: true });
    await c2.login({ email, rootPassword: NEW_ROOT_PASSWORD });
    await c2.sync();
    expect(c2.preferences()).toEqual({ animal: 'cow' });
  });

  it('when the device is not logged in, then changePassword refuses with NOT_LOGGED_IN', async () => {
    const device = await openDevice(server, 'lonely');
    const failure = device.changePassword(ROOT_PASSWORD, NEW_ROOT_PASSWORD);
    await expect(failure).rejects.toBeInstanceOf(WalletSyncError);
    await expect(failure).rejects.toMatchObject({ code: 'NOT_LOGGED_IN' });
  });
});
