import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FileDeviceStateStore } from '../../src/node/file-device-state.store';

describe('the device state file shared by processes', () => {
  const WRITER = path.join(__dirname, '..', 'fixtures', 'state-writer.ts');
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function writer(file: string, name: string, rounds: number): Promise<void> {
    return promisify(execFile)(process.execPath, ['-r', 'ts-node/register/transpile-only', WRITER, file, name, String(rounds)], {
      cwd: path.join(__dirname, '..', '..'),
      timeout: 120_000,
    }).then(() => undefined);
  }

  it('when four processes each add 15 preferences through lock → load → save, then all 60 are in the file', async () => {
    const file = path.join(dir, 'device.json');
    await Promise.all(['a', 'b', 'c', 'd'].map((name) => writer(file, name, 15)));
    const state = await new FileDeviceStateStore(file).load();
    expect(Object.keys(state!.local.preferences)).toHaveLength(60);
    expect(readdirSync(dir).sort()).toEqual(['device.json']);
  }, 180_000);

  it('when a lock is held, then another lock() waits for its release (and gives up with LOCAL_STATE_INVALID past its timeout)', async () => {
    const file = path.join(dir, 'device.json');
    const release = await new FileDeviceStateStore(file).lock();
    await expect(new FileDeviceStateStore(file, 300).lock()).rejects.toMatchObject({ code: 'LOCAL_STATE_INVALID', message: expect.stringContaining('locked') });
    const waiting = new FileDeviceStateStore(file).lock();
    await release();
    const second = await waiting;
    await second();
  });
});
