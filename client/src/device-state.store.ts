import { ClientErrorCode, WalletSyncError } from './client.errors';
import type { ChainMark } from './history-chain';
import type { WalletDocument } from './wallet-document';
import type { KeyParams } from './wallet-keys';

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
  /** The account as this device last derived its keys: the seed and key parameters the server holds for it. */
  account: {
    email: string;
    clientSaltSeed: string;
    keyParams: KeyParams;
    /**
     * EmailVerify: this device registered the account and it waits for its code.
     * Its seed is known only here (the server hands out a decoy for a pending
     * registration), so the first login derives with it; cleared by that login.
     */
    pending?: true;
  } | null;
  /** Hex-encoded HMAC and wallet keys; null after logout. */
  keys: { hmacKey: string; walletKey: string } | null;
  authToken: { token: string; expiresAt: string } | null;
  /**
   * The last wallet state this device synced (pulled or pushed), decrypted: the
   * merge base. `chain`: its history chain (absent in state files from before
   * the chain, until the next sync computes it).
   */
  base: { sequence: number; hmac: string; chain?: string; document: WalletDocument } | null;
  /** The working copy: the merge base plus this device's unsynced changes. */
  local: WalletDocument;
  /**
   * The (sequence, chain) of the last SEEN_STATES_KEPT states this device saw,
   * oldest first: what tells a rollback (a state seen before) from a fork.
   * Absent in state files from before the chain.
   */
  seen?: ChainMark[];
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
  return { format: 1, deviceId, account: null, keys: null, authToken: null, base: null, local: { preferences: {} }, seen: [] };
}

/** For tests and short-lived apps: a copy in memory. */
export class MemoryDeviceStateStore implements DeviceStateStore {
  private state: string | null = null;

  async load(): Promise<DeviceState | null> {
    return this.state === null ? null : (JSON.parse(this.state) as DeviceState);
  }

  async save(state: DeviceState): Promise<void> {
    this.state = JSON.stringify(state);
  }
}

/**
 * The storage of React Native's AsyncStorage, of a browser's localStorage
 * (wrapped in promises), or of any key-value store: what
 * KeyValueDeviceStateStore needs.
 */
export interface KeyValueStorage {
  getItem(key: string): Promise<string | null> | string | null;
  setItem(key: string, value: string): Promise<void> | void;
}

/**
 * The device state as one JSON value under `key` of a key-value store:
 * AsyncStorage on React Native, localStorage in a browser. One writer per key:
 * it takes no lock (browser tabs sharing one key need a lock of their own,
 * e.g. the Web Locks API, through DeviceStateStore.lock()).
 */
export class KeyValueDeviceStateStore implements DeviceStateStore {
  constructor(
    private readonly storage: KeyValueStorage,
    readonly key = 'wallet-sync/device-state',
  ) {}

  async load(): Promise<DeviceState | null> {
    const text = await this.storage.getItem(this.key);
    return text === null ? null : parseDeviceState(text, `The stored device state (${this.key})`);
  }

  async save(state: DeviceState): Promise<void> {
    await this.storage.setItem(this.key, JSON.stringify(state));
  }
}

/** Parses a stored device state; `what` names it in the LOCAL_STATE_INVALID error. */
export function parseDeviceState(text: string, what: string): DeviceState {
  // The user's way out, since nothing can be read from it: what to do, and what it costs.
  const recovery =
    'To recover, move it aside and log in again: this device then starts from the wallet on the server, and edits made ' +
    'on this device and not yet synced are lost (they may still be read in the moved file)';
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch (error) {
    throw new WalletSyncError(ClientErrorCode.LocalState, `${what} is not valid JSON (damaged?). ${recovery}`, { cause: error });
  }
  if (!isDeviceState(state)) throw new WalletSyncError(ClientErrorCode.LocalState, `${what} is not a format-1 device state. ${recovery}`);
  return state;
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
