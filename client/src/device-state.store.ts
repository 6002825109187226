import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { lock as lockFile } from 'proper-lockfile';
import { ClientErrorCode, WalletSyncError } from './client.errors';
import type { WalletDocument } from './wallet-document';

/**
 * What one device remembers between runs. The merge base must survive a
 * restart: without it the next merge cannot tell which side changed a key.
 * It holds the derived HMAC and wallet keys and the auth token, never the root
 * password nor the login password (with those, a stolen file could change the
 * password or delete the account), and is still as sensitive as the wallet:
 * it is written owner-only (0600).
 */
export interface DeviceState {
  format: 1;
  deviceId: string;
  account: { email: string; clientSaltSeed: string; scryptCost: number } | null;
  /** Hex-encoded HMAC and wallet keys; null after logout. */
  keys: { hmacKey: string; walletKey: string } | null;
  authToken: { token: string; expiresAt: string } | null;
  /** The last wallet state this device synced (pulled or pushed), decrypted: the merge base. */
  base: { sequence: number; hmac: string; document: WalletDocument } | null;
  /** The working copy: the merge base plus this device's unsynced changes. */
  local: WalletDocument;
}

export interface DeviceStateStore {
  load(): Promise<DeviceState | null>;
  save(state: DeviceState): Promise<void>;
  /**
   * For a store that several processes (or tabs) share: holds the others off
   * until the returned release is called. The client takes it around every
   * read-modify-write (load, change, save), so no process overwrites another's
   * edit with a stale copy. Stores only one client uses can leave it out.
   */
  lock?(): Promise<() => Promise<void>>;
}

export function newDeviceState(deviceId: string): DeviceState {
  return { format: 1, deviceId, account: null, keys: null, authToken: null, base: null, local: { preferences: {} } };
}

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
    let state: unknown;
    try {
      state = JSON.parse(text);
    } catch (error) {
      throw new WalletSyncError(ClientErrorCode.LocalState, `${this.file} is not valid JSON`, { cause: error });
    }
    if (!isDeviceState(state)) throw new WalletSyncError(ClientErrorCode.LocalState, `${this.file} is not a format-1 device state file`);
    return state;
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

/** For apps that keep the state elsewhere (and for tests): a copy in memory. */
export class MemoryDeviceStateStore implements DeviceStateStore {
  private state: DeviceState | null = null;

  async load(): Promise<DeviceState | null> {
    return this.state && structuredClone(this.state);
  }

  async save(state: DeviceState): Promise<void> {
    this.state = structuredClone(state);
  }
}

function isDeviceState(value: unknown): value is DeviceState {
  if (typeof value !== 'object' || value === null) return false;
  const state = value as Partial<DeviceState>;
  return (
    state.format === 1 &&
    typeof state.deviceId === 'string' &&
    typeof state.local === 'object' &&
    state.local !== null &&
    typeof state.local.preferences === 'object'
  );
}
