import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { newDeviceState, type DeviceState } from '../../src/device-state.store';
import { FileDeviceStateStore } from '../../src/node/file-device-state.store';

describe('the device state file', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const sample = (): DeviceState => ({
    ...newDeviceState('test_wallet_1'),
    account: { email: 'joe2@example.com', clientSaltSeed: 'ab'.repeat(32), keyParams: { n: 2 ** 14, r: 1, p: 1 } },
    base: { sequence: 5, hmac: 'cd'.repeat(32), document: { preferences: { animal: { value: 'horse', updatedAt: 1, deviceId: 'test_wallet_2' } } } },
    local: { preferences: { animal: { value: 'beaver', updatedAt: 2, deviceId: 'test_wallet_1' } } },
  });

  it('when there is no file yet, then load answers null', async () => {
    await expect(new FileDeviceStateStore(path.join(dir, 'device.json')).load()).resolves.toBeNull();
  });

  it('when a state is saved into a new directory, then it loads back equal, readable by the owner only', async () => {
    const file = path.join(dir, 'nested', 'device.json');
    const store = new FileDeviceStateStore(file);
    await store.save(sample());
    await expect(new FileDeviceStateStore(file).load()).resolves.toEqual(sample());
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  });

  it('when a save fails midway, then the previous file is intact and no temporary file is left', async () => {
    const file = path.join(dir, 'device.json');
    const store = new FileDeviceStateStore(file);
    await store.save(sample());
    // JSON.stringify throws on a BigInt: the failure happens after the temporary file was opened.
    const broken = { ...sample(), base: { ...sample().base!, sequence: 6n as unknown as number } };
    await expect(store.save(broken)).rejects.toThrow(/BigInt/);
    await expect(store.load()).resolves.toEqual(sample());
    expect(readdirSync(dir)).toEqual(['device.json']);
  });

  it.each([
    ['not JSON', '{"format": 1,'],
    ['another format', JSON.stringify({ format: 2, deviceId: 'x', local: { preferences: {} } })],
    ['not a device state', JSON.stringify({ hello: 'world' })],
  ])('when the file is %s, then load fails with LOCAL_STATE_INVALID saying how to recover and what that loses', async (_what, content) => {
    const file = path.join(dir, 'device.json');
    writeFileSync(file, content);
    await expect(new FileDeviceStateStore(file).load()).rejects.toMatchObject({
      code: 'LOCAL_STATE_INVALID',
      message: expect.stringMatching(new RegExp(`^${file}.*move it aside and log in again.*not yet synced are lost`)),
    });
  });
});
