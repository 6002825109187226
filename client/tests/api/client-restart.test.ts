import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileDeviceStateStore } from 'wallet-sync-client';
import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { openDevice, twoDevices } from '../helpers/devices';

/** The merge base must survive a restart, or the next merge cannot tell which side changed a key. */
describe('a device restarting from its state file', () => {
  let server: TestServer;
  let dir: string;

  beforeAll(async () => {
    server = await startTestServer();
    dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-restart-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when the app restarts with unsynced edits, then it resumes logged in with its merge base, and the next sync merges correctly', async () => {
    const file = path.join(dir, 'test_wallet_2.json');
    const { c1, c2 } = await twoDevices(server, {}, [new FileDeviceStateStore(path.join(dir, 'test_wallet_1.json')), new FileDeviceStateStore(file)]);
    await c1.setPreference('animal', 'horse');
    await c1.setPreference('car', 'Audi');
    await c1.sync();
    await c2.sync();
    await c2.setPreference('animal', 'beaver');
    // Meanwhile c1 deletes car. With the merge base, neither key is a conflict: each changed on one side only.
    await c1.deletePreference('car');
    await c1.sync();

    const conflicts: string[] = [];
    const restarted = await openDevice(server, 'test_wallet_2', {
      store: new FileDeviceStateStore(file),
      resolvePreference: ({ key, local }) => {
        conflicts.push(key);
        return local;
      },
    });
    expect(restarted.status()).toMatchObject({ loggedIn: true, sequence: 1, unsyncedKeys: ['animal'] });
    await expect(restarted.sync()).resolves.toMatchObject({ sequence: 3, pushed: true, conflicts: 0 });
    expect(conflicts).toEqual([]);
    expect(restarted.preferences()).toEqual({ animal: 'beaver' });
  });

  it('when a state file belongs to another device id, then opening it for this one is refused', async () => {
    const file = path.join(dir, 'shared.json');
    const first = await openDevice(server, 'laptop', { store: new FileDeviceStateStore(file) });
    await first.setPreference('animal', 'cow');
    await expect(openDevice(server, 'phone', { store: new FileDeviceStateStore(file) })).rejects.toMatchObject({ code: 'LOCAL_STATE_INVALID' });
  });
});
