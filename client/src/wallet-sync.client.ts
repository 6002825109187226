import { randomBytes } from 'node:crypto';
import { Mutex } from 'async-mutex';
import { ClientErrorCode, ServerErrorCode, WalletSyncError } from './client.errors';
import { newDeviceState, type DeviceState, type DeviceStateStore } from './device-state.store';
import { graphqlEndpoint, SyncServerApi, type RemoteWalletState } from './graphql/sync-server.api';
import { subscribeToWalletUpdates, webSocketEndpoint, type ReconnectBackoff, type WalletUpdatesSubscription } from './graphql/wallet-updates.subscription';
import { openWalletState, sealWalletState, type SealedWalletState } from './wallet-cipher';
import { EMPTY_DOCUMENT, entryOf, isSameDocument, isSameEntry, preferenceValues, withPreference, type PreferenceEntry, type WalletDocument } from './wallet-document';
import { DEFAULT_SCRYPT_COST, assertScryptCost, deriveWalletKeys, newClientSaltSeed, type WalletKeys } from './wallet-keys';
import { laterWriteWins, mergeDocuments, type PreferenceResolver } from './wallet-merge';

export interface WalletSyncClientOptions {
  /** The server, e.g. http://127.0.0.1:8090 (the /graphql path is added when missing). */
  url: string;
  /** Where this device keeps its state between runs (FileDeviceStateStore for a file per device). */
  store: DeviceStateStore;
  /** This device's id, sent at login. Default: the stored one, else a random one. */
  deviceId?: string;
  /** scrypt N for new derivations; must be the same on every device of an account. Default 2^20 (PROTOCOL.md). */
  scryptCost?: number;
  /** Decides a preference both sides changed differently. Default: the later write wins. */
  resolvePreference?: PreferenceResolver;
  /** How many newer states sync() and changePassword() merge before giving up. Default 10. */
  maxConflictRetries?: number;
  /** The clock that stamps preference edits (ms since the epoch). Default Date.now. */
  now?: () => number;
}

/** A wallet state as the server holds it, for display and logs. */
export type WalletStateInfo = RemoteWalletState;

export type PushResult =
  /** The upload landed: the server now holds this device's document at `walletState.sequence`. */
  | { kind: 'success'; walletState: WalletStateInfo }
  /** A newer state was there first: it was merged into the local document; push again to upload the merge. */
  | { kind: 'conflict'; latest: WalletStateInfo };

export interface SyncResult {
  /** The sequence this device now holds. */
  sequence: number;
  /** Whether it took in a newer wallet state from the server. */
  pulled: boolean;
  /** Whether this sync uploaded a new wallet state. */
  pushed: boolean;
  /** How many conflicts it merged before its upload landed. */
  conflicts: number;
}

export interface WatchOptions {
  /** After each sync that an update triggered. */
  onSync?(result: SyncResult): void;
  /** A failed sync or a bad event; watching goes on (the next update retries). */
  onError?(error: WalletSyncError): void;
  /** The live connection is up; `reconnected` after a drop. */
  onConnected?(reconnected: boolean): void;
  reconnect?: ReconnectBackoff;
}

export interface WalletWatch {
  /** Settles when watching ends: resolves after stop(), rejects with the error that ended it (e.g. UNAUTHENTICATED). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export interface DeviceStatus {
  deviceId: string;
  email: string | null;
  loggedIn: boolean;
  /** The sequence of the merge base, null before the first sync. */
  sequence: number | null;
  /** Keys changed here and not yet uploaded. */
  unsyncedKeys: string[];
}

/**
 * Why it exists: a wallet app's side of the protocol. It derives the keys,
 * encrypts and signs what it uploads, refuses downloads that do not verify or
 * that go back in sequence, merges against the last state this device synced,
 * and retries an upload that lost a race until it lands. Every operation that
 * touches the device state runs one at a time, so a live update can never
 * interleave with a local edit or another sync.
 */
export class WalletSyncClient {
  private readonly api: SyncServerApi;
  private readonly endpoint: URL;
  private readonly lock = new Mutex();
  private readonly scryptCost: number;
  private readonly resolve: PreferenceResolver;
  private readonly maxConflictRetries: number;
  private readonly now: () => number;

  private constructor(
    private readonly options: WalletSyncClientOptions,
    private state: DeviceState,
  ) {
    this.endpoint = graphqlEndpoint(options.url);
    this.api = new SyncServerApi(this.endpoint, () => this.state.authToken?.token ?? null);
    this.scryptCost = options.scryptCost ?? state.account?.scryptCost ?? DEFAULT_SCRYPT_COST;
    assertScryptCost(this.scryptCost);
    this.resolve = options.resolvePreference ?? laterWriteWins;
    this.maxConflictRetries = options.maxConflictRetries ?? 10;
    this.now = options.now ?? Date.now;
  }

  /** Loads (or starts) this device's state from the store. */
  static async open(options: WalletSyncClientOptions): Promise<WalletSyncClient> {
    const stored = await options.store.load();
    if (stored && options.deviceId && stored.deviceId !== options.deviceId) {
      throw new WalletSyncError(
        ClientErrorCode.LocalState,
        `This device state belongs to device "${stored.deviceId}", not "${options.deviceId}": use another state file`,
      );
    }
    return new WalletSyncClient(options, stored ?? newDeviceState(options.deviceId ?? `device-${randomBytes(6).toString('hex')}`));
  }

  get deviceId(): string {
    return this.state.deviceId;
  }

  get email(): string | null {
    return this.state.account?.email ?? null;
  }

  /** The live preferences of the local document (unsynced edits included). */
  preferences(): Record<string, string> {
    return preferenceValues(this.state.local);
  }

  /** The local document with its per-key timestamps. */
  document(): WalletDocument {
    return this.state.local;
  }

  status(): DeviceStatus {
    const base = this.state.base?.document ?? EMPTY_DOCUMENT;
    const keys = new Set([...Object.keys(base.preferences), ...Object.keys(this.state.local.preferences)]);
    return {
      deviceId: this.state.deviceId,
      email: this.email,
      loggedIn: this.state.authToken !== null,
      sequence: this.state.base?.sequence ?? null,
      unsyncedKeys: [...keys].filter((key) => !isSameEntry(entryOf(base, key), entryOf(this.state.local, key))).sort(),
    };
  }

  /** Creates the account with a fresh client salt seed. This device keeps the keys, so login() needs no password afterwards. */
  register(email: string, rootPassword: string): Promise<{ verified: boolean }> {
    return this.exclusive(async () => {
      this.assertAccount(email);
      const clientSaltSeed = newClientSaltSeed();
      const keys = await deriveWalletKeys(rootPassword, email, clientSaltSeed, this.scryptCost);
      const result = await this.api.register({ email, password: keys.loginPassword, clientSaltSeed });
      await this.commit({ ...this.state, account: { email, clientSaltSeed, scryptCost: this.scryptCost }, keys: encodeKeys(keys) });
      return result;
    });
  }

  /**
   * Gets an auth token for this device. With credentials it asks the server for
   * the account's client salt seed first (a new device has none, and another
   * device's password change replaces it), derives the keys, then logs in.
   * Without, it reuses the keys this device holds (after register()).
   */
  login(credentials?: { email: string; rootPassword: string }): Promise<{ deviceId: string; expiresAt: string }> {
    return this.exclusive(async () => {
      let account = this.state.account;
      let keys: WalletKeys;
      if (credentials) {
        this.assertAccount(credentials.email);
        const clientSaltSeed = await this.api.clientSaltSeed(credentials.email);
        keys = await deriveWalletKeys(credentials.rootPassword, credentials.email, clientSaltSeed, this.scryptCost);
        account = { email: credentials.email, clientSaltSeed, scryptCost: this.scryptCost };
      } else {
        if (!account || !this.state.keys) throw notLoggedIn('No keys on this device: log in with the email and root password');
        if ((await this.api.clientSaltSeed(account.email)) !== account.clientSaltSeed) {
          throw new WalletSyncError(ServerErrorCode.Unauthenticated, 'The password was changed on another device: log in with the new root password');
        }
        keys = decodeKeys(this.state.keys);
      }
      const token = await this.api.login({ email: account.email, password: keys.loginPassword, deviceId: this.state.deviceId });
      await this.commit({ ...this.state, account, keys: encodeKeys(keys), authToken: { token: token.token, expiresAt: token.expiresAt } });
      return { deviceId: this.state.deviceId, expiresAt: token.expiresAt };
    });
  }

  /** Revokes this device's auth token and forgets its keys; the documents stay for the next login. */
  logout(): Promise<void> {
    return this.exclusive(async () => {
      if (this.state.authToken) {
        try {
          await this.api.logout();
        } catch (error) {
          // A token the server no longer knows is as logged out as it gets.
          if (!(error instanceof WalletSyncError && error.code === ServerErrorCode.Unauthenticated)) throw error;
        }
      }
      await this.commit({ ...this.state, keys: null, authToken: null });
    });
  }

  setPreference(key: string, value: string): Promise<PreferenceEntry> {
    return this.edit(key, value);
  }

  deletePreference(key: string): Promise<PreferenceEntry> {
    return this.edit(key, null);
  }

  /**
   * Downloads the server's wallet state and merges it into the local document;
   * it becomes the merge base. Null when the server has no wallet yet.
   */
  pull(): Promise<WalletStateInfo | null> {
    return this.exclusive(async () => {
      const keys = this.session();
      const remote = await this.api.walletState();
      await this.commit(this.adopt(this.state, remote, keys));
      return remote;
    });
  }

  /**
   * Uploads the local document at the merge base's sequence + 1, even when
   * nothing changed. On a conflict the newer state the server answered with is
   * merged in (no extra request) and the caller pushes again.
   */
  push(): Promise<PushResult> {
    return this.exclusive(async () => {
      const keys = this.session();
      const sealed = sealWalletState(this.state.local, (this.state.base?.sequence ?? 0) + 1, keys);
      const outcome = await this.api.updateWalletState(sealed);
      if (outcome.kind === 'success') {
        await this.commit(withBase(this.state, sealed, this.state.local));
        return { kind: 'success', walletState: outcome.walletState };
      }
      if (!outcome.latest) throw serverLostWallet(sealed.sequence - 1);
      await this.commit(this.adopt(this.state, outcome.latest, keys));
      return { kind: 'conflict', latest: outcome.latest };
    });
  }

  /** pull → merge → push, merging and retrying on each conflict (at most maxConflictRetries times). */
  sync(): Promise<SyncResult> {
    return this.exclusive(() => this.syncExclusive());
  }

  /**
   * New root password: a fresh client salt seed, new keys, and the wallet
   * re-encrypted under them, swapped on the server in one transaction that also
   * revokes every auth token. This device then logs in again with the new keys;
   * the others get UNAUTHENTICATED until they log in with the new root password.
   */
  changePassword(newRootPassword: string): Promise<void> {
    return this.exclusive(async () => {
      const oldKeys = this.session();
      const account = this.state.account!;
      const clientSaltSeed = newClientSaltSeed();
      const newKeys = await deriveWalletKeys(newRootPassword, account.email, clientSaltSeed, this.scryptCost);
      let remote = await this.api.walletState();
      for (let conflicts = 0; ; conflicts += 1) {
        await this.commit(this.adopt(this.state, remote, oldKeys));
        if (conflicts > this.maxConflictRetries) throw retriesExhausted('changePassword', conflicts);
        // The server takes a wallet exactly when it holds one: at the next sequence, under the new keys.
        const wallet = this.state.base ? sealWalletState(this.state.local, this.state.base.sequence + 1, newKeys) : null;
        const outcome = await this.api.changePassword({
          email: account.email,
          oldPassword: oldKeys.loginPassword,
          newPassword: newKeys.loginPassword,
          clientSaltSeed,
          wallet,
        });
        if (outcome.kind === 'conflict') {
          remote = outcome.latest;
          continue;
        }
        const changed: DeviceState = { ...this.state, account: { ...account, clientSaltSeed }, keys: encodeKeys(newKeys), authToken: null };
        await this.commit(wallet ? withBase(changed, wallet, this.state.local) : changed);
        const token = await this.api.login({ email: account.email, password: newKeys.loginPassword, deviceId: this.state.deviceId });
        await this.commit({ ...this.state, authToken: { token: token.token, expiresAt: token.expiresAt } });
        return;
      }
    });
  }

  /**
   * Live updates: subscribes to walletUpdated and syncs whenever the server
   * holds a newer sequence than this device, reconnecting with backoff when the
   * connection drops. A new login on this device (which makes the server close
   * the connection of the replaced token) resubscribes with the new token; a
   * token refused for good (password changed, logged out elsewhere) ends the
   * watch with UNAUTHENTICATED.
   */
  watch(options: WatchOptions = {}): WalletWatch {
    this.session();
    let settle: { resolve(): void; reject(error: unknown): void };
    const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // Marks the promise handled: an app that never awaits `done` must not crash on a fatal error.
    done.catch(() => undefined);
    let syncs = Promise.resolve();
    let stopped = false;
    let subscription: WalletUpdatesSubscription;

    const end = async (error?: WalletSyncError) => {
      if (stopped) return;
      stopped = true;
      await subscription.dispose();
      await syncs;
      if (error) settle.reject(error);
      else settle.resolve();
    };
    const catchUp = (sequence: number) => {
      syncs = syncs.then(async () => {
        if (stopped) return;
        let result: SyncResult | null;
        try {
          result = await this.exclusive(() => ((this.state.base?.sequence ?? 0) >= sequence ? null : this.syncExclusive()));
        } catch (error) {
          const failure = error instanceof WalletSyncError ? error : new WalletSyncError(ClientErrorCode.Network, String(error), { cause: error });
          if (failure.code === ServerErrorCode.Unauthenticated) void end(failure);
          else notify(options.onError, failure);
          return;
        }
        if (result) notify(options.onSync, result);
      });
    };
    const onFatal = async (error: WalletSyncError) => {
      const current = this.state.authToken?.token;
      if (stopped || error.code !== ServerErrorCode.Unauthenticated || !current || current === subscription.authToken()) return end(error);
      await subscription.dispose();
      if (!stopped) start();
    };
    const start = () => {
      subscription = subscribeToWalletUpdates(
        webSocketEndpoint(this.endpoint),
        () => this.state.authToken?.token ?? null,
        this.state.base?.sequence ?? 0,
        {
          onUpdate: catchUp,
          onError: (error) => notify(options.onError, error),
          onFatal: (error) => void onFatal(error),
          onConnected: (reconnected) => notify(options.onConnected, reconnected),
        },
        options.reconnect,
      );
    };
    start();
    return { done, stop: () => end() };
  }

  private async syncExclusive(): Promise<SyncResult> {
    const keys = this.session();
    const startedAt = this.state.base?.sequence ?? 0;
    let remote = await this.api.walletState();
    for (let conflicts = 0; ; conflicts += 1) {
      await this.commit(this.adopt(this.state, remote, keys));
      const base = this.state.base;
      const pulled = (base?.sequence ?? 0) > startedAt;
      if (base && isSameDocument(base.document, this.state.local)) return { sequence: base.sequence, pulled, pushed: false, conflicts };
      if (conflicts >= this.maxConflictRetries) throw retriesExhausted('sync', conflicts);
      const sealed = sealWalletState(this.state.local, (base?.sequence ?? 0) + 1, keys);
      const outcome = await this.api.updateWalletState(sealed);
      if (outcome.kind === 'success') {
        await this.commit(withBase(this.state, sealed, this.state.local));
        return { sequence: sealed.sequence, pulled, pushed: true, conflicts };
      }
      remote = outcome.latest;
    }
  }

  /**
   * The device state after taking in a downloaded wallet state: verified,
   * decrypted, merged into the local document, and made the merge base. Every
   * check runs before anything changes, so a rejected state leaves the device
   * exactly as it was.
   */
  private adopt(state: DeviceState, remote: RemoteWalletState | null, keys: WalletKeys): DeviceState {
    const base = state.base;
    if (!remote) {
      if (!base) return state;
      throw serverLostWallet(base.sequence);
    }
    if (base && remote.sequence < base.sequence) {
      throw new WalletSyncError(
        ClientErrorCode.SequenceRollback,
        `The server offered sequence ${remote.sequence}, older than the ${base.sequence} this device already synced: refusing to go back`,
      );
    }
    if (base && remote.sequence === base.sequence) {
      if (remote.hmac === base.hmac) return state;
      throw new WalletSyncError(
        ClientErrorCode.SequenceRollback,
        `The server offered a different wallet state at sequence ${remote.sequence} than the one this device synced: refusing a forked history`,
      );
    }
    const document = openWalletState(remote, keys);
    const local = mergeDocuments(base?.document ?? EMPTY_DOCUMENT, state.local, document, this.resolve);
    return { ...withBase(state, remote, document), local };
  }

  private edit(key: string, value: string | null): Promise<PreferenceEntry> {
    return this.exclusive(async () => {
      const { document, entry } = withPreference(this.state.local, key, value, this.state.deviceId, this.now());
      await this.commit({ ...this.state, local: document });
      return entry;
    });
  }

  /** The keys of a logged-in device; throws NOT_LOGGED_IN otherwise. */
  private session(): WalletKeys {
    if (!this.state.authToken || !this.state.keys || !this.state.account) throw notLoggedIn('This device is not logged in: log in first');
    return decodeKeys(this.state.keys);
  }

  private assertAccount(email: string): void {
    const current = this.state.account?.email;
    if (current !== undefined && current.toLowerCase() !== email.toLowerCase()) {
      throw new WalletSyncError(
        ClientErrorCode.LocalState,
        `This device state belongs to ${current}; use another state file for ${email}`,
      );
    }
  }

  /** Saved first, then taken: memory never runs ahead of what a restart would find. */
  private async commit(next: DeviceState): Promise<void> {
    if (next === this.state) return;
    await this.options.store.save(next);
    this.state = next;
  }

  private exclusive<T>(work: () => Promise<T> | T): Promise<T> {
    return this.lock.runExclusive(work);
  }
}

/**
 * Calls an app's callback. What it throws is rethrown on its own tick, as an
 * EventEmitter listener's would be: it must not break the watch's sync queue
 * or graphql-ws's bookkeeping, nor be swallowed.
 */
function notify<T>(callback: ((value: T) => void) | undefined, value: T): void {
  try {
    callback?.(value);
  } catch (error) {
    process.nextTick(() => {
      throw error;
    });
  }
}

function withBase(state: DeviceState, sealed: SealedWalletState, document: WalletDocument): DeviceState {
  return { ...state, base: { sequence: sealed.sequence, hmac: sealed.hmac, document } };
}

function encodeKeys(keys: WalletKeys): NonNullable<DeviceState['keys']> {
  return { loginPassword: keys.loginPassword, hmacKey: keys.hmacKey.toString('hex'), walletKey: keys.walletKey.toString('hex') };
}

function decodeKeys(keys: NonNullable<DeviceState['keys']>): WalletKeys {
  return { loginPassword: keys.loginPassword, hmacKey: Buffer.from(keys.hmacKey, 'hex'), walletKey: Buffer.from(keys.walletKey, 'hex') };
}

function serverLostWallet(syncedSequence: number): WalletSyncError {
  return new WalletSyncError(
    ClientErrorCode.SequenceRollback,
    `The server has no wallet, but this device already synced sequence ${syncedSequence}: refusing to go back`,
  );
}

function notLoggedIn(message: string): WalletSyncError {
  return new WalletSyncError(ClientErrorCode.NotLoggedIn, message);
}

function retriesExhausted(operation: string, attempts: number): WalletSyncError {
  return new WalletSyncError(
    ClientErrorCode.ConflictRetriesExhausted,
    `${operation} met a newer wallet state ${attempts} times in a row and gave up; try again`,
  );
}
