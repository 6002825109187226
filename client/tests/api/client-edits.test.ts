import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  FileDeviceStateStore,
  MemoryDeviceStateStore,
  WalletSyncClient,
  sealWalletState,
  type DeviceState,
  type DeviceStateStore,
  type WalletDocument,
} from 'wallet-sync-client';
import { runCli, ExitCode } from 'wallet-sync-client/cli';
import { type TestServer } from '../../../tests/helpers/app';
import { useTestServer } from '../../../tests/helpers/hooks';
import { ROOT_PASSWORD, TEST_SCRYPT_COST, openDevice, twoDevices } from '../helpers/devices';
import { uniqueEmail } from '../../../test-support/operations';
import { UpdateWalletStateDocument } from '../../../test-support/operations.generated';

async function stored(store: DeviceStateStore): Promise<DeviceState> {
  return (await store.load())!;
}

/** Uploads `document` at the next sequence as the device of `store` would, bypassing the client's checks. */
async function uploadRaw(server: TestServer, store: DeviceStateStore, document: unknown): Promise<number> {
  const state = await stored(store);
  const keys = { hmacKey: Buffer.from(state.keys!.hmacKey, 'hex'), walletKey: Buffer.from(state.keys!.walletKey, 'hex') };
  const current = await server.gql('{ walletState { sequence } }', {}, state.authToken!.token);
  const sequence = (current.body.data!.walletState?.sequence ?? 0) + 1;
  const sealed = await sealWalletState(document as WalletDocument, sequence, keys);
  const response = await server.gql(UpdateWalletStateDocument, { input: sealed }, state.authToken!.token);
  expect(response.body.data!.updateWalletState.__typename).toBe('WalletStateSuccess');
  return sequence;
}

describe('the client: no edit lost without the app knowing, bad input stopped, bad remote data repairable', () => {
  const server = useTestServer();

  describe('lost edits', () => {
    // One clock for both devices, set by the test: which write is later must not depend on the machine's timing.
    let clock = 0;
    const devices = () => twoDevices(server, { now: () => clock });

    it('when an unsynced local value loses to another device\'s later write, then sync() reports key, both values and the winning device', async () => {
      const { c1: laptop, c2: phone } = await devices();
      clock = 1_000;
      await laptop.setPreference('animal', 'cow');
      await laptop.sync();
      await phone.sync();
      await laptop.setPreference('color', 'blue');
      await laptop.setPreference('animal', 'horse');
      clock = 2_000;
      await phone.setPreference('color', 'green');
      await phone.sync();

      const result = await laptop.sync();
      expect(result.lostEdits).toEqual([{ key: 'color', localValue: 'blue', winningValue: 'green', winningDeviceId: 'test_wallet_2' }]);
      // The laptop's animal=horse took nothing away from anyone: not reported, and uploaded.
      expect(result).toMatchObject({ pushed: true, sequence: 3 });
      expect(laptop.preferences()).toEqual({ animal: 'horse', color: 'green' });
    });

    it('when pull() or a conflicting push() merges away an unsynced value or deletion, then it reports it too', async () => {
      const { c1, c2 } = await devices();
      clock = 1_000;
      await c1.setPreference('car', 'Audi');
      await c1.sync();
      await c2.sync();
      clock = 5_000;
      await c2.setPreference('car', 'Toyota');
      await c2.sync();

      clock = 2_000;
      await c1.deletePreference('car');
      const pulled = await c1.pull();
      expect(pulled).toMatchObject({ walletState: { sequence: 2 } });
      expect(pulled.lostEdits).toEqual([{ key: 'car', localValue: null, winningValue: 'Toyota', winningDeviceId: 'test_wallet_2' }]);

      await c1.setPreference('car', 'Fiat');
      clock = 9_000;
      await c2.setPreference('car', 'Tesla');
      await c2.sync();
      const pushed = await c1.push();
      expect(pushed).toMatchObject({ kind: 'conflict', lostEdits: [{ key: 'car', localValue: 'Fiat', winningValue: 'Tesla', winningDeviceId: 'test_wallet_2' }] });
    });

    it('when the local edit wins the merge, then nothing is reported', async () => {
      const { c1, c2 } = await devices();
      clock = 1_000;
      await c2.setPreference('color', 'green');
      await c2.sync();
      clock = 2_000;
      await c1.setPreference('color', 'blue');
      await expect(c1.sync()).resolves.toMatchObject({ lostEdits: [], pushed: true });
      expect(c1.preferences()).toEqual({ color: 'blue' });
    });
  });

  describe('bad input stops at the edge', () => {
    let device: WalletSyncClient;
    beforeAll(async () => {
      ({ c1: device } = await twoDevices(server));
    });

    it.each<[string, (client: WalletSyncClient) => Promise<unknown>, RegExp]>([
      ['a preference value is an object', (c) => c.setPreference('theme', { dark: true } as unknown as string), /value of preference "theme" must be a string \(got an object\)/],
      ['a preference value is a number', (c) => c.setPreference('zoom', 2 as unknown as string), /must be a string \(got a number\)/],
      ['a preference key is undefined', (c) => c.setPreference(undefined as unknown as string, 'x'), /key must be a string .*got undefined/],
      ['a preference key is empty', (c) => c.setPreference('', 'x'), /key must be a string of 1 to 256/],
      ['a preference key is too long', (c) => c.setPreference('k'.repeat(257), 'x'), /1 to 256/],
      ['a deleted key is not a string', (c) => c.deletePreference(42 as unknown as string), /got a number/],
      ['the root password at register is empty', (c) => c.register(uniqueEmail('empty'), ''), /rootPassword must be a non-empty string/],
      ['the root password at login is empty', (c) => c.login({ email: uniqueEmail('x'), rootPassword: '' }), /rootPassword must be a non-empty string/],
      ['the email at login is not an address', (c) => c.login({ email: 'joe', rootPassword: ROOT_PASSWORD }), /bare address/],
      ['the current root password at changePassword is empty', (c) => c.changePassword('', 'new one'), /currentRootPassword/],
      ['the new root password is the current one', (c) => c.changePassword(ROOT_PASSWORD, ROOT_PASSWORD), /is the current one/],
      ['the root password at deleteAccount is empty', (c) => c.deleteAccount(''), /rootPassword/],
    ])('when %s, then it is refused with INVALID_ARGUMENT and nothing changes', async (_what, call, message) => {
      const before = device.document();
      const error = await Promise.resolve()
        .then(() => call(device))
        .then(
          () => null,
          (failure: unknown) => failure,
        );
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect((error as Error).message).toMatch(message);
      expect(device.document()).toEqual(before);
    });

    it.each(['127.0.0.1:8090', 'ftp://127.0.0.1', ''])('when the server URL is %p, then open() refuses it with INVALID_ARGUMENT naming the scheme', async (url) => {
      await expect(WalletSyncClient.open({ url, store: new MemoryDeviceStateStore() })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('http:// or https://'),
      });
    });
  });

  describe('bad remote data never bricks a device', () => {
    it('when another device uploaded a document with a non-string value, then sync fails with WALLET_DOCUMENT_INVALID naming the key, leaves the state untouched, and sync({ repair }) uploads a repaired state', async () => {
      const stores = [new MemoryDeviceStateStore(), new MemoryDeviceStateStore()] as [MemoryDeviceStateStore, MemoryDeviceStateStore];
      const { c1: writer, c2: reader } = await twoDevices(server, {}, stores);
      await writer.setPreference('animal', 'beaver');
      await writer.sync();
      await reader.sync();
      await reader.setPreference('car', 'Audi');
      const bad = {
        format: 1,
        preferences: {
          animal: { value: 'beaver', updatedAt: 1, deviceId: 'test_wallet_1' },
          theme: { value: { dark: true }, updatedAt: 2, deviceId: 'test_wallet_1' },
        },
      };
      const badSequence = await uploadRaw(server, stores[0], bad);
      const before = await stored(stores[1]);

      for (const operation of [() => reader.sync(), () => reader.pull()]) {
        await expect(operation()).rejects.toMatchObject({ code: 'WALLET_DOCUMENT_INVALID', key: 'theme', message: expect.stringContaining('"theme"') });
        expect(await stored(stores[1])).toEqual(before);
      }

      const repaired = await reader.sync({ repair: true });
      expect(repaired).toMatchObject({ pushed: true, sequence: badSequence + 1, repairedKeys: ['theme'] });
      expect(reader.preferences()).toEqual({ animal: 'beaver', car: 'Audi' });
      // The writer (and any other device) syncs again from the repaired state.
      await expect(writer.sync()).resolves.toMatchObject({ sequence: badSequence + 1 });
      expect(writer.preferences()).toEqual({ animal: 'beaver', car: 'Audi' });
    });

    it('when the CLI meets an invalid document, then sync exits 6 naming the key, and sync --repair repairs it', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-repair-'));
      try {
        const writerStore = new MemoryDeviceStateStore();
        const { email, c1: writer } = await twoDevices(server, {}, [writerStore, new MemoryDeviceStateStore()]);
        await writer.sync();
        const io = (out: string[]) => ({
          env: { WALLET_SYNC_PASSWORD: ROOT_PASSWORD },
          stdout: (text: string) => out.push(text),
          stderr: (text: string) => out.push(text),
          readSecret: () => Promise.reject(new Error('no terminal')),
        });
        const args = ['--server', server.url, '--state', path.join(dir, 'cli.json'), '--device', 'cli', '--scrypt-cost', String(TEST_SCRYPT_COST)];
        expect(await runCli([...args, 'login', email], io([]))).toBe(ExitCode.Ok);
        await uploadRaw(server, writerStore, { format: 1, preferences: { bad: { value: 7, updatedAt: 1, deviceId: 'x' } } });
        const failed: string[] = [];
        expect(await runCli([...args, 'sync'], io(failed))).toBe(ExitCode.Integrity);
        expect(failed.join('')).toMatch(/WALLET_DOCUMENT_INVALID|preference "bad" is malformed/);
        const fixed: string[] = [];
        expect(await runCli([...args, '--repair', 'sync'], io(fixed))).toBe(ExitCode.Ok);
        expect(fixed.join('')).toContain('repaired: dropped malformed bad');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('what the device keeps', () => {
    it('when a device registers and logs in, then its state file holds the keys and token but not the login password', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-nopw-'));
      try {
        const file = path.join(dir, 'device.json');
        const device = await openDevice(server, 'file_device', { store: new FileDeviceStateStore(file) });
        await device.register(uniqueEmail('nopw'), ROOT_PASSWORD);
        await device.login();
        const text = readFileSync(file, 'utf8');
        const state = JSON.parse(text) as DeviceState;
        expect(Object.keys(state.keys!).sort()).toEqual(['hmacKey', 'walletKey']);
        expect(state.authToken?.token).toEqual(expect.any(String));
        expect(text).not.toMatch(/loginPassword|password/i);
        // A restarted process has no password: it must be asked for one.
        const restarted = await openDevice(server, 'file_device', { store: new FileDeviceStateStore(file) });
        await expect(restarted.login()).rejects.toMatchObject({ code: 'NOT_LOGGED_IN' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('when a state saved by an earlier version holds the login password, then opening it drops the password from the store', async () => {
      const store = new MemoryDeviceStateStore();
      const { c1 } = await twoDevices(server, {}, [store, new MemoryDeviceStateStore()]);
      const state = await stored(store);
      await store.save({ ...state, keys: { ...state.keys!, loginPassword: 'legacy' } as DeviceState['keys'] });
      const reopened = await openDevice(server, c1.deviceId, { store });
      expect(Object.keys((await stored(store)).keys!).sort()).toEqual(['hmacKey', 'walletKey']);
      await expect(reopened.sync()).resolves.toMatchObject({ sequence: 1, pushed: true });
    });

    it('when deleteAccount() is given a wrong root password, then nothing is sent; with the right one the account is gone and the device forgets it', async () => {
      const store = new MemoryDeviceStateStore();
      const { email, c1, c2 } = await twoDevices(server, {}, [store, new MemoryDeviceStateStore()]);
      await c1.setPreference('animal', 'cow');
      await c1.sync();
      await expect(c1.deleteAccount('not the root password')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'Wrong root password' });
      await expect(c2.sync()).resolves.toMatchObject({ sequence: 1 });

      await c1.deleteAccount(ROOT_PASSWORD);
      expect(c1.status()).toMatchObject({ email: null, loggedIn: false, sequence: null });
      expect(await stored(store)).toMatchObject({ account: null, keys: null, authToken: null, base: null });
      await expect(c2.sync()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      await expect(c2.login({ email, rootPassword: ROOT_PASSWORD })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    });
  });
});
