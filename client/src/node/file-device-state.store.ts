import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { lock as lockFile } from 'proper-lockfile';
import { ClientErrorCode, WalletSyncError } from '../client.errors';
import { parseDeviceState, type DeviceState, type DeviceStateStore } from '../device-state.store';

/**
 * One JSON file per device, replaced atomically so a crash mid-write leaves
 * the previous state whole, and locked (a `<file>.lock` directory, kept fresh
 * while held and taken over when its holder died) so that processes sharing
 * the file, a `watch` and a `set`, say, take turns instead of losing writes.
 */
export class FileDeviceStateStore implements DeviceStateStore {
  constructor(
    readonly file: string,
    /** How long lock() waits for another process before giving up. Default 60 s. */
    private readonly lockTimeoutMs = 60_000,
  ) {}

  async lock(): Promise<() => Promise<void>> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const retries = Math.ceil(this.lockTimeoutMs / 50);
    let release: () => Promise<void>;
    try {
      release = await lockFile(this.file, {
        realpath: false,
        stale: 10_000,
        retries: { retries, factor: 1, minTimeout: 25, maxTimeout: 50, randomize: true },
        // Lost the lock (the process was frozen past `stale`): the save that follows is no longer safe, but
        // crashing a wallet app over it is worse; the next operation takes the lock afresh.
        onCompromised: () => undefined,
      });
    } catch (error) {
      throw new WalletSyncError(ClientErrorCode.LocalState, `${this.file} stayed locked by another process for ${this.lockTimeoutMs / 1000} s`, { cause: error });
    }
    return () => release().catch(() => undefined);
  }

  async load(): Promise<DeviceState | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    return parseDeviceState(text, this.file);
  }

  async save(state: DeviceState): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`, 'utf8');
        // Durable before it replaces the old file: rename alone may reach the disk before the data does.
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
}
