import { Mutex } from 'async-mutex';
import { ClientErrorCode, ServerErrorCode, WalletSyncError } from './client.errors';
import { newDeviceState, type DeviceState, type DeviceStateStore } from './device-state.store';
import { equalBytes, fromHex, randomBytes, toHex } from './encoding';
import { HISTORY_PAGE, graphqlEndpoint, SyncServerApi, type AccountEvent, type RemoteKeyParams, type RemoteWalletState, type WalletStateHeader } from './graphql/sync-server.api';
import { ROOT_CHAIN, chainOf, extendChain, hasSeen, rememberStates, type ChainMark, type Divergence, type StateLink } from './history-chain';
import { subscribeToWalletUpdates, webSocketEndpoint, type ReconnectBackoff, type WalletUpdatesSubscription } from './graphql/wallet-updates.subscription';
import { openWalletState, salvageWalletState, sealWalletState, type SealedWalletState } from './wallet-cipher';
import {
  EMPTY_DOCUMENT,
  MAX_PREFERENCE_KEY_LENGTH,
  entryOf,
  isPreferenceKey,
  isSameDocument,
  isSameEntry,
  preferenceValues,
  withPreference,
  type PreferenceEntry,
  type WalletDocument,
} from './wallet-document';
import { deriveWalletKeys, keyParamsOf, keyParamsProblem, newClientSaltSeed, normalizeEmail, type KeyParams, type WalletKeys } from './wallet-keys';
import { laterWriteWins, mergeDocuments, type PreferenceResolver } from './wallet-merge';
import { platformDefaults, type ScryptFunction, type WebSocketConstructor } from './platform';

export interface WalletSyncClientOptions {
  /** The server, e.g. http://127.0.0.1:8090 (the /graphql path is added when missing). */
  url: string;
  /** Where this device keeps its state between runs (FileDeviceStateStore for a file per device). */
  store: DeviceStateStore;
  /** This device's id, sent at login. Default: the stored one, else a random one. */
  deviceId?: string;
  /**
   * The key parameters (scrypt N, r, p) register() gives a new account; missing
   * ones default to N=2^17, r=8, p=1 (128 MiB per derivation). Bounds: N a power
   * of two from 2^14 to 2^20, r 1 to 16, p 1 to 4 (INVALID_ARGUMENT outside).
   * They belong to the account: other devices read them from the server at
   * login, whatever they were opened with; changePassword() can change them.
   */
  keyParams?: Partial<KeyParams>;
  /** Decides a preference both sides changed differently. Default: the later write wins. */
  resolvePreference?: PreferenceResolver;
  /** How many newer states sync() and changePassword() merge before giving up. Default 10. */
  maxConflictRetries?: number;
  /** The clock that stamps preference edits (ms since the epoch). Default Date.now. */
  now?: () => number;
  /**
   * The WebSocket constructor watch() connects with. Default: the platform's
   * global WebSocket (browsers, React Native), or `ws` through the Node entry.
   */
  webSocket?: WebSocketConstructor;
  /** The scrypt implementation. Default: Node's native one through the Node entry, else @noble/hashes'. */
  scrypt?: ScryptFunction;
}

/** A wallet state as the server holds it, for display and logs. */
export type WalletStateInfo = RemoteWalletState;

/**
 * A preference this device had changed and not yet uploaded, which another
 * device's write beat in a merge: the app should tell the user (or set it again).
 */
export interface LostEdit {
  key: string;
  /** This device's unsynced value; null: its unsynced deletion. */
  localValue: string | null;
  /** The value the preference holds after the merge; null: deleted. */
  winningValue: string | null;
  /** The device whose write won; null when the resolver dropped the key. */
  winningDeviceId: string | null;
}

export type PushResult =
  /** The upload landed: the server now holds this device's document at `walletState.sequence`. */
  | { kind: 'success'; walletState: WalletStateInfo }
  /**
   * A newer state was there first (null: the server has no wallet any more): it was merged into the local document;
   * push again to upload the merge. `divergence`: that state did not extend the history this device saw.
   */
  | { kind: 'conflict'; latest: WalletStateInfo | null; lostEdits: LostEdit[]; divergence: Divergence | null };

export interface PullResult {
  /** The server's wallet state, null when it has none yet. */
  walletState: WalletStateInfo | null;
  /** Local, unsynced edits that lost to another device's in the merge. */
  lostEdits: LostEdit[];
  /** The server's history diverged from what this device saw: merged onto it; sync to upload the merge. */
  divergence: Divergence | null;
}

export interface SyncOptions {
  /**
   * When the server's wallet decrypts but is not a valid document
   * (WALLET_DOCUMENT_INVALID), keep its well-formed preferences, drop the
   * malformed ones, and upload the repaired state. Default false: sync throws.
   */
  repair?: boolean;
}

export interface SyncResult {
  /** The sequence this device now holds. */
  sequence: number;
  /** Whether it took in a newer wallet state from the server. */
  pulled: boolean;
  /** Whether this sync uploaded a new wallet state. */
  pushed: boolean;
  /** How many upload conflicts (newer states that arrived while syncing) it merged before its upload landed. */
  conflicts: number;
  /** Local, unsynced edits that lost to another device's in a merge (one entry per key, the last merge's). */
  lostEdits: LostEdit[];
  /** With `repair`: the malformed preferences dropped from the server's wallet. */
  repairedKeys: string[];
  /**
   * The server's history diverged from what this device saw (restored from an
   * old backup, or a different history): this device kept its data, merged it
   * onto the server's state and uploaded the result. Null when it did not.
   */
  divergence: Divergence | null;
}

/** What taking in one downloaded wallet state did. */
interface Adoption {
  state: DeviceState;
  lostEdits: LostEdit[];
  /** Malformed preferences dropped (repair only); the result must be uploaded even if nothing else changed. */
  repairedKeys: string[];
  divergence: Divergence | null;
}

/** One wallet state in history(): what the server keeps of every state. */
export type WalletHistoryEntry = WalletStateHeader;

/** An event of the account's security log (activity()). */
export type AccountActivityEvent = AccountEvent;

export interface RestoreResult {
  /** The sequence whose content was restored. */
  restoredFrom: number;
  /** The new state that holds it (the current one when nothing differed). */
  sequence: number;
  /** The preferences the restore changed back (set, or deleted when the version did not have them). */
  changedKeys: string[];
  /** A divergence one of the syncs around the restore found and healed. */
  divergence: Divergence | null;
}

export interface WatchOptions {
  /** After each sync that an update triggered. */
  onSync?(result: SyncResult): void;
  /** A sync found (and healed) a server history that diverged from what this device saw; onSync follows. */
  onDivergence?(divergence: Divergence): void;
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
  private readonly keyParams: KeyParams;
  private readonly resolve: PreferenceResolver;
  private readonly maxConflictRetries: number;
  private readonly now: () => number;
  private readonly scrypt: ScryptFunction;
  /**
   * The login password register() derived, in memory only, so the login() that
   * follows needs no password; never saved (a stolen state file must not be
   * enough to change the password or delete the account).
   */
  private registeredLoginPassword: { email: string; loginPassword: string } | null = null;

  private constructor(
    private readonly options: WalletSyncClientOptions,
    private state: DeviceState,
  ) {
    this.endpoint = graphqlEndpoint(options.url);
    this.api = new SyncServerApi(this.endpoint, () => this.state.authToken?.token ?? null);
    this.keyParams = keyParamsOf(options.keyParams);
    this.resolve = options.resolvePreference ?? laterWriteWins;
    this.maxConflictRetries = options.maxConflictRetries ?? 10;
    this.now = options.now ?? Date.now;
    this.scrypt = options.scrypt ?? platformDefaults.scrypt;
  }

  /** Loads (or starts) this device's state from the store. */
  static async open(options: WalletSyncClientOptions): Promise<WalletSyncClient> {
    if (typeof options.url !== 'string' || !/^https?:\/\//i.test(options.url)) {
      throw invalidArgument(`The server URL must start with http:// or https:// (got ${JSON.stringify(options.url)})`);
    }
    if (options.deviceId !== undefined && (typeof options.deviceId !== 'string' || options.deviceId.length < 1 || options.deviceId.length > 255)) {
      throw invalidArgument('deviceId must be a string of 1 to 255 characters');
    }
    let stored = await options.store.load();
    // State files from earlier versions kept the login password: drop it on first open.
    if (stored?.keys && 'loginPassword' in stored.keys) {
      const { hmacKey, walletKey } = stored.keys;
      stored = { ...stored, keys: { hmacKey, walletKey } };
      await options.store.save(stored);
    }
    // State files from before per-account key parameters kept only N (r=8, p=1 then).
    const account = stored?.account as (DeviceState['account'] & { scryptCost?: number }) | null | undefined;
    if (stored && account && !account.keyParams) {
      const { email, clientSaltSeed, scryptCost } = account;
      stored = { ...stored, account: { email, clientSaltSeed, keyParams: { n: scryptCost ?? 2 ** 20, r: 8, p: 1 } } };
      await options.store.save(stored);
    }
    if (stored && options.deviceId && stored.deviceId !== options.deviceId) {
      throw new WalletSyncError(
        ClientErrorCode.LocalState,
        `This device state belongs to device "${stored.deviceId}", not "${options.deviceId}": use another state file`,
      );
    }
    return new WalletSyncClient(options, stored ?? newDeviceState(options.deviceId ?? `device-${toHex(randomBytes(6))}`));
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

  /**
   * Creates the account with a fresh client salt seed and this client's key
   * parameters (WalletSyncClientOptions.keyParams), which the server stores for
   * the other devices. This device keeps the keys, so login() needs no password afterwards.
   */
  register(email: string, rootPassword: string): Promise<{ verified: boolean }> {
    assertEmail(email);
    assertRootPassword(rootPassword, 'rootPassword');
    return this.exclusive(async () => {
      this.assertAccount(email);
      const clientSaltSeed = newClientSaltSeed();
      const keyParams = this.keyParams;
      const keys = await deriveWalletKeys(rootPassword, email, clientSaltSeed, keyParams, this.scrypt);
      const result = await this.api.register({ email, password: keys.loginPassword, clientSaltSeed, keyParams });
      await this.commit({ ...this.state, account: { email, clientSaltSeed, keyParams }, keys: encodeKeys(keys) });
      this.registeredLoginPassword = { email, loginPassword: keys.loginPassword };
      return result;
    });
  }

  /**
   * Gets an auth token for this device. With credentials it asks the server for
   * the account's client salt seed and key parameters first (a new device has
   * neither, and another device's password change replaces them), derives the
   * keys with them, then logs in.
   * Without, it uses what register() derived in this process (a device that
   * restarted, or whose token expired, logs in with the root password again).
   */
  login(credentials?: { email: string; rootPassword: string }): Promise<{ deviceId: string; expiresAt: string }> {
    if (credentials) {
      assertEmail(credentials.email);
      assertRootPassword(credentials.rootPassword, 'rootPassword');
    }
    return this.exclusive(async () => {
      let account = this.state.account;
      let keys: Pick<WalletKeys, 'loginPassword'> & Partial<WalletKeys>;
      if (credentials) {
        this.assertAccount(credentials.email);
        const { clientSaltSeed, keyParams } = acceptedKeyParams(await this.api.clientKeyParams(credentials.email));
        keys = await deriveWalletKeys(credentials.rootPassword, credentials.email, clientSaltSeed, keyParams, this.scrypt);
        account = { email: credentials.email, clientSaltSeed, keyParams };
      } else {
        const registered = this.registeredLoginPassword;
        if (!account || !this.state.keys || !registered || normalizeEmail(registered.email) !== normalizeEmail(account.email)) {
          throw notLoggedIn('Log in with the email and root password');
        }
        keys = { loginPassword: registered.loginPassword };
      }
      const token = await this.api.login({ email: account.email, password: keys.loginPassword, deviceId: this.state.deviceId });
      const stored = keys.hmacKey && keys.walletKey ? encodeKeys({ hmacKey: keys.hmacKey, walletKey: keys.walletKey }) : this.state.keys;
      await this.commit({ ...this.state, account, keys: stored, authToken: { token: token.token, expiresAt: token.expiresAt } });
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

  /** Sets a preference on this device (sync() uploads it). Keys are 1 to 256 characters, values strings. */
  setPreference(key: string, value: string): Promise<PreferenceEntry> {
    assertKey(key);
    if (typeof value !== 'string') {
      throw invalidArgument(`The value of preference ${JSON.stringify(key)} must be a string (got ${describeType(value)}); serialize it first, e.g. with JSON.stringify`);
    }
    return this.edit(key, value);
  }

  deletePreference(key: string): Promise<PreferenceEntry> {
    assertKey(key);
    return this.edit(key, null);
  }

  /**
   * Downloads the server's wallet state and merges it into the local document;
   * it becomes the merge base. Null when the server has no wallet yet.
   */
  pull(): Promise<PullResult> {
    return this.exclusive(async () => {
      const keys = this.session();
      const remote = await this.api.walletState();
      const adopted = await this.adopt(this.state, remote, keys);
      await this.commit(adopted.state);
      return { walletState: remote, lostEdits: adopted.lostEdits, divergence: adopted.divergence };
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
      const { sealed, chain } = await this.seal(keys);
      const outcome = await this.api.updateWalletState(sealed);
      if (outcome.kind === 'success') {
        await this.commit(withBase(this.state, sealed, chain, this.state.local));
        return { kind: 'success', walletState: outcome.walletState };
      }
      const adopted = await this.adopt(this.state, outcome.latest, keys);
      await this.commit(adopted.state);
      return { kind: 'conflict', latest: outcome.latest, lostEdits: adopted.lostEdits, divergence: adopted.divergence };
    });
  }

  /** pull → merge → push, merging and retrying on each conflict (at most maxConflictRetries times). */
  sync(options: SyncOptions = {}): Promise<SyncResult> {
    return this.exclusive(() => this.syncExclusive(options));
  }

  /**
   * New root password: a fresh client salt seed, new keys, and the wallet
   * re-encrypted under them, swapped on the server in one transaction that also
   * revokes every auth token. This device then logs in again with the new keys;
   * the others get UNAUTHENTICATED until they log in with the new root password.
   * It asks for the current root password: the device keeps no password.
   * `keyParams` changes the account's key parameters (raise N once phones can
   * afford it); missing ones stay as they are.
   */
  changePassword(currentRootPassword: string, newRootPassword: string, options: { keyParams?: Partial<KeyParams> } = {}): Promise<void> {
    assertRootPassword(currentRootPassword, 'currentRootPassword');
    assertRootPassword(newRootPassword, 'newRootPassword');
    const samePassword = currentRootPassword === newRootPassword;
    if (samePassword && options.keyParams === undefined) throw invalidArgument('The new root password is the current one');
    // Checked before anything is derived or sent; completed with the account's own once the session is known.
    if (options.keyParams !== undefined) keyParamsOf(options.keyParams);
    return this.exclusive(async () => {
      this.session();
      const account = this.state.account!;
      const keyParams = keyParamsOf(options.keyParams, account.keyParams);
      const oldKeys = await this.rootKeys(currentRootPassword);
      const clientSaltSeed = newClientSaltSeed();
      const newKeys = await deriveWalletKeys(newRootPassword, account.email, clientSaltSeed, keyParams, this.scrypt);
      let remote = await this.api.walletState();
      for (let conflicts = 0; ; conflicts += 1) {
        await this.commit((await this.adopt(this.state, remote, oldKeys)).state);
        if (conflicts > this.maxConflictRetries) throw retriesExhausted('changePassword', conflicts);
        // The server takes a wallet exactly when it holds one: at the next sequence, under the new keys.
        const next = this.state.base ? await this.seal(newKeys) : null;
        const wallet = next?.sealed ?? null;
        const outcome = await this.api.changePassword({
          email: account.email,
          oldPassword: oldKeys.loginPassword,
          newPassword: newKeys.loginPassword,
          clientSaltSeed,
          wallet,
          // Always sent, so the server records exactly what the new keys were derived with.
          keyParams,
        });
        if (outcome.kind === 'conflict') {
          remote = outcome.latest;
          continue;
        }
        const changed: DeviceState = { ...this.state, account: { ...account, clientSaltSeed, keyParams }, keys: encodeKeys(newKeys), authToken: null };
        await this.commit(next ? withBase(changed, next.sealed, next.chain, this.state.local) : changed);
        const token = await this.api.login({ email: account.email, password: newKeys.loginPassword, deviceId: this.state.deviceId });
        await this.commit({ ...this.state, authToken: { token: token.token, expiresAt: token.expiresAt } });
        return;
      }
    });
  }

  /**
   * The headers of the account's wallet states, newest first, at most `limit`
   * (default 20, at most 1000): sequence, hmac, the device that wrote it (null:
   * a password change), when, size, and whether the server still keeps its
   * content (what restore() can go back to).
   */
  history(options: { limit?: number } = {}): Promise<WalletHistoryEntry[]> {
    const limit = options.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_PAGE) throw invalidArgument(`limit must be an integer from 1 to ${HISTORY_PAGE} (got ${describeType(limit)})`);
    return this.exclusive(async () => {
      this.session();
      // Start a little before the sequence this device holds; a server that went back below it is read from the start.
      let since = Math.max(0, (this.state.base?.sequence ?? 0) - limit);
      let headers = await this.allHeadersAfter(since);
      if (headers.length === 0 && since > 0) headers = await this.allHeadersAfter((since = 0));
      return headers.slice(-limit).reverse();
    });
  }

  /**
   * Undo: takes the content of an earlier wallet state (history() says which
   * are kept) and makes it the newest state, as edits of this device on top of
   * the latest one, so every device takes it in like any other change and
   * nothing on the server is rewritten. Syncs first, so nothing unsynced is
   * lost and the undo lands on the latest state. Refused with
   * WALLET_VERSION_NOT_KEPT when the server no longer keeps that content, and
   * with WALLET_VERSION_EARLIER_PASSWORD when it was encrypted under a
   * password changed since.
   */
  restore(sequence: number): Promise<RestoreResult> {
    if (!Number.isInteger(sequence) || sequence < 1) throw invalidArgument(`sequence must be a positive integer (got ${describeType(sequence)})`);
    return this.exclusive(async () => {
      const keys = this.session();
      const before = await this.syncExclusive({});
      const current = before.sequence;
      if (sequence > current) throw versionNotKept(sequence, `the wallet's latest sequence is ${current}`);
      const since = (await this.headers(sequence - 1, current)) ?? [];
      if (since.slice(1).some((header) => header.deviceId === null)) {
        throw new WalletSyncError(
          ClientErrorCode.VersionUnderEarlierPassword,
          `Sequence ${sequence} was encrypted under an earlier password (the password was changed since): it cannot be restored`,
        );
      }
      const version = await this.api.walletVersion(sequence);
      if (!version) throw versionNotKept(sequence, 'the server keeps only the content of the most recent states');
      const document = await openWalletState(version, keys);
      let local = this.state.local;
      const changedKeys: string[] = [];
      const keysOf = (doc: WalletDocument) => Object.keys(doc.preferences);
      for (const key of [...new Set([...keysOf(local), ...keysOf(document)])].sort()) {
        const wanted = entryOf(document, key)?.value ?? null;
        if ((entryOf(local, key)?.value ?? null) === wanted) continue;
        local = withPreference(local, key, wanted, this.state.deviceId, this.now()).document;
        changedKeys.push(key);
      }
      if (changedKeys.length === 0) return { restoredFrom: sequence, sequence: current, changedKeys, divergence: before.divergence };
      await this.commit({ ...this.state, local });
      const after = await this.syncExclusive({});
      return { restoredFrom: sequence, sequence: after.sequence, changedKeys, divergence: before.divergence ?? after.divergence };
    });
  }

  /** The account's security log, newest first (PROTOCOL.md): at most `limit` (default 50, at most 500) events, older than `before` when given. */
  activity(options: { limit?: number; before?: string } = {}): Promise<AccountEvent[]> {
    return this.exclusive(() => {
      this.session();
      return this.api.accountActivity(options.before ?? null, options.limit ?? 50);
    });
  }

  /**
   * Deletes the account on the server (its wallet and every device's token)
   * and forgets everything this device held, keeping only its deviceId. Asks
   * for the root password again: a stolen device state must not be enough.
   */
  deleteAccount(rootPassword: string): Promise<void> {
    assertRootPassword(rootPassword, 'rootPassword');
    return this.exclusive(async () => {
      this.session();
      const keys = await this.rootKeys(rootPassword);
      await this.api.deleteAccount(keys.loginPassword);
      this.registeredLoginPassword = null;
      await this.commit(newDeviceState(this.state.deviceId));
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
    const webSocket = this.options.webSocket ?? platformDefaults.webSocket;
    if (!webSocket) {
      throw invalidArgument('No WebSocket on this platform: pass WalletSyncClientOptions.webSocket (in Node, import the package\'s main entry, which uses ws)');
    }
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
    // Any sequence but the one this device holds means work: a newer one to take in, or an older one that tells the
    // server went back (restored from a backup, and another device already re-uploaded onto it). null: check anyway.
    const catchUp = (sequence: number | null) => {
      syncs = syncs.then(async () => {
        if (stopped) return;
        let result: SyncResult | null;
        try {
          result = await this.exclusive(async () => {
            const held = this.state.base?.sequence ?? 0;
            if (held === sequence) return null;
            const synced = await this.syncExclusive({});
            // An older sequence is usually just a late event: say nothing when the sync found nothing.
            const quiet = sequence !== null && sequence < held && !synced.pulled && !synced.pushed && !synced.divergence;
            return quiet ? null : synced;
          });
        } catch (error) {
          const failure = error instanceof WalletSyncError ? error : new WalletSyncError(ClientErrorCode.Network, String(error), { cause: error });
          if (failure.code === ServerErrorCode.Unauthenticated) void end(failure);
          else notify(options.onError, failure);
          return;
        }
        if (result?.divergence) notify(options.onDivergence, result.divergence);
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
          onConnected: (reconnected) => {
            notify(options.onConnected, reconnected);
            // The subscription only announces a newer sequence; a server that came back older (a restore) says nothing.
            if (reconnected) catchUp(null);
          },
        },
        options.reconnect ?? {},
        webSocket,
      );
    };
    start();
    return { done, stop: () => end() };
  }

  private async syncExclusive(options: SyncOptions): Promise<SyncResult> {
    const keys = this.session();
    const startedAt = this.state.base?.sequence ?? 0;
    const lostEdits = new Map<string, LostEdit>();
    const repairedKeys = new Set<string>();
    let divergence: Divergence | null = null;
    let remote = await this.api.walletState();
    for (let conflicts = 0; ; conflicts += 1) {
      const adopted = await this.adopt(this.state, remote, keys, options.repair);
      await this.commit(adopted.state);
      divergence ??= adopted.divergence;
      for (const lost of adopted.lostEdits) lostEdits.set(lost.key, lost);
      for (const key of adopted.repairedKeys) repairedKeys.add(key);
      // A repaired state must replace the server's even when the merge changed nothing locally.
      const mustUpload = adopted.repairedKeys.length > 0;
      const base = this.state.base;
      const pulled = (base?.sequence ?? 0) > startedAt;
      const report = { lostEdits: [...lostEdits.values()], repairedKeys: [...repairedKeys].sort(), divergence };
      if (base && !mustUpload && isSameDocument(base.document, this.state.local)) return { sequence: base.sequence, pulled, pushed: false, conflicts, ...report };
      if (conflicts >= this.maxConflictRetries) throw retriesExhausted('sync', conflicts);
      const { sealed, chain } = await this.seal(keys);
      const outcome = await this.api.updateWalletState(sealed);
      if (outcome.kind === 'success') {
        await this.commit(withBase(this.state, sealed, chain, this.state.local));
        return { sequence: sealed.sequence, pulled, pushed: true, conflicts, ...report };
      }
      // The conflict carries the freshest state there is: retry on it at once. After that, wait, and since the
      // state in hand goes stale while waiting, fetch the current one before merging again (retrying on a state
      // that was already old when the wait ended only loses the race once more).
      remote = outcome.latest;
      if (conflicts > 0) {
        await backOff(conflicts);
        remote = await this.api.walletState();
      }
    }
  }

  /**
   * The device state after taking in a downloaded wallet state: verified,
   * decrypted, checked against the history this device saw, merged into the
   * local document, and made the merge base. Every check runs before anything
   * changes, so a rejected state leaves the device exactly as it was.
   *
   * A server whose history diverged from what this device saw (it went back,
   * or shows another history) is not refused: the device keeps its data, merges
   * its latest content onto the server's state (so the next upload heals the
   * server) and says so in `divergence`.
   */
  private async adopt(state: DeviceState, remote: RemoteWalletState | null, keys: StoredKeys, repair = false): Promise<Adoption> {
    const base = state.base;
    const unchanged: Adoption = { state, lostEdits: [], repairedKeys: [], divergence: null };
    if (!remote) {
      if (!base) return unchanged;
      // No wallet at all: a restore from before the first upload. The empty history is an ancestor of every other.
      const divergence: Divergence = { kind: 'rollback', reason: 'sequence-went-back', seen: stateOf(base), server: null };
      return { state: { ...state, base: null }, lostEdits: [], repairedKeys: [], divergence };
    }
    if (base && remote.sequence === base.sequence && remote.hmac === base.hmac) return unchanged;
    let document: WalletDocument;
    let repairedKeys: string[] = [];
    try {
      document = await openWalletState(remote, keys);
    } catch (error) {
      if (!(repair && error instanceof WalletSyncError && error.code === ClientErrorCode.DocumentInvalid)) throw error;
      ({ document, malformed: repairedKeys } = await salvageWalletState(remote, keys));
      // Not a malformed preference but no document at all: nothing to salvage, the local document replaces it.
      if (repairedKeys.length === 0) repairedKeys = ['(document)'];
    }
    const seen = state.seen ?? [];
    let marks: ChainMark[];
    let divergence: Divergence | null = null;
    const descent = base ? await this.descent(base, remote, document) : null;
    if (descent && 'chain' in descent) {
      marks = descent.marks;
    } else {
      // First use (a device that never synced trusts what it finds), or a divergence: the state's chain is the one
      // its own document names, written by a device holding this account's keys.
      const chain = await this.claimedChain(remote, document);
      marks = [{ sequence: remote.sequence, chain }];
      if (descent) divergence = { kind: hasSeen(seen, chain) ? 'rollback' : 'fork', reason: descent.reason, seen: stateOf(base!), server: stateOf(remote) };
    }
    // After a rollback the server's state is an ancestor of the local document, which then simply wins; after a fork
    // nothing is known in common, so every preference that differs goes to the resolver (the later write by default).
    const mergeBase = divergence ? (divergence.kind === 'rollback' ? document : EMPTY_DOCUMENT) : (base?.document ?? EMPTY_DOCUMENT);
    const local = mergeDocuments(mergeBase, state.local, document, this.resolve);
    const chain = marks[marks.length - 1].chain;
    const next: DeviceState = {
      ...state,
      base: { sequence: remote.sequence, hmac: remote.hmac, chain, document },
      local,
      seen: rememberStates(seen, marks),
    };
    return { state: next, lostEdits: lostEdits(base?.document ?? EMPTY_DOCUMENT, state.local, local), repairedKeys, divergence };
  }

  /**
   * Whether `remote`, newer or not, extends the history this device synced up
   * to `base`: the headers in between, folded into the chain from the base's,
   * must give the chain the new document names as its parent. Answers the
   * (sequence, chain) of every state on the way, or why not.
   */
  private async descent(
    base: NonNullable<DeviceState['base']>,
    remote: RemoteWalletState,
    document: WalletDocument,
  ): Promise<{ chain: string; marks: ChainMark[] } | { reason: Divergence['reason'] }> {
    if (remote.sequence <= base.sequence) return { reason: 'sequence-went-back' };
    const baseChain = base.chain ?? (await this.chainFromServer(base));
    if (baseChain === null) return { reason: 'history-incomplete' };
    const between = remote.sequence - 1 > base.sequence ? await this.headers(base.sequence, remote.sequence - 1) : [];
    if (between === null) return { reason: 'history-incomplete' };
    const marks: ChainMark[] = [];
    let chain = baseChain;
    for (const header of between) {
      chain = await chainOf(chain, header.hmac);
      marks.push({ sequence: header.sequence, chain });
    }
    // A document from a client before the chain names no parent: nothing to compare, the headers are all there is.
    if (document.prev && (document.prev.sequence !== remote.sequence - 1 || document.prev.chain !== chain)) return { reason: 'chain-mismatch' };
    chain = await chainOf(chain, remote.hmac);
    marks.push({ sequence: remote.sequence, chain });
    return { chain, marks };
  }

  /** The chain a downloaded state claims through its own `prev`. */
  private async claimedChain(remote: RemoteWalletState, document: WalletDocument): Promise<string> {
    if (document.prev) return chainOf(document.prev.chain, remote.hmac);
    if (remote.sequence === 1) return chainOf(ROOT_CHAIN, remote.hmac);
    // Written by a client before the chain: the server's headers from the first state are the only account of it.
    return (await this.chainFromServer(remote)) ?? chainOf(ROOT_CHAIN, remote.hmac);
  }

  /**
   * The chain of `state` computed from the server's headers since the first
   * state, for a state known from before the chain existed; null when the
   * headers are incomplete or do not end in `state`.
   */
  private async chainFromServer(state: { sequence: number; hmac: string }): Promise<string | null> {
    const headers = await this.headers(0, state.sequence);
    if (!headers || headers[headers.length - 1].hmac !== state.hmac) return null;
    return extendChain(ROOT_CHAIN, headers.map((header) => header.hmac));
  }

  /** Every header the server holds after `since`, page by page. */
  private async allHeadersAfter(since: number): Promise<WalletStateHeader[]> {
    const headers: WalletStateHeader[] = [];
    for (let last = since; ; ) {
      const page = await this.api.walletHistory(last, HISTORY_PAGE);
      headers.push(...page);
      if (page.length === 0) return headers;
      last = page[page.length - 1].sequence;
    }
  }

  /**
   * Every header after `since` up to and including `until`, in order, or null
   * when the server leaves any out: a gap is reported, never bridged.
   */
  private async headers(since: number, until: number): Promise<WalletStateHeader[] | null> {
    const headers: WalletStateHeader[] = [];
    let last = since;
    while (last < until) {
      const page = await this.api.walletHistory(last, Math.min(HISTORY_PAGE, until - last));
      if (page.length === 0) return null;
      for (const header of page) {
        if (header.sequence !== last + 1) return null;
        headers.push(header);
        last = header.sequence;
        if (last === until) break;
      }
    }
    return headers;
  }

  /**
   * The local document sealed as the state after the merge base, naming the
   * base as its parent, with the chain the upload will have. A base from a
   * state file older than the chain gets its chain from the server's headers
   * first; when they are incomplete, the document names no parent, as before the chain.
   */
  private async seal(keys: StoredKeys): Promise<{ sealed: SealedWalletState; chain: string }> {
    const base = this.state.base;
    let prev: StateLink | undefined;
    if (base) {
      const chain = base.chain ?? (await this.chainFromServer(base));
      if (chain !== null) prev = { sequence: base.sequence, hmac: base.hmac, chain };
    }
    const document: WalletDocument = prev ? { preferences: this.state.local.preferences, prev } : { preferences: this.state.local.preferences };
    const sealed = await sealWalletState(document, (base?.sequence ?? 0) + 1, keys);
    return { sealed, chain: await chainOf(prev?.chain ?? ROOT_CHAIN, sealed.hmac) };
  }

  /** The keys `rootPassword` derives for this account, refused when they are not the ones this device holds. */
  private async rootKeys(rootPassword: string): Promise<WalletKeys> {
    const account = this.state.account!;
    const keys = await deriveWalletKeys(rootPassword, account.email, account.clientSaltSeed, account.keyParams, this.scrypt);
    const held = this.state.keys && decodeKeys(this.state.keys);
    if (held && !(equalBytes(held.walletKey, keys.walletKey) && equalBytes(held.hmacKey, keys.hmacKey))) {
      // Checked here, so a typo costs no failed-login attempt on the server.
      throw new WalletSyncError(ServerErrorCode.Unauthenticated, 'Wrong root password');
    }
    return keys;
  }

  private edit(key: string, value: string | null): Promise<PreferenceEntry> {
    return this.exclusive(async () => {
      const { document, entry } = withPreference(this.state.local, key, value, this.state.deviceId, this.now());
      await this.commit({ ...this.state, local: document });
      return entry;
    });
  }

  /** The keys of a logged-in device; throws NOT_LOGGED_IN otherwise. */
  private session(): StoredKeys {
    if (!this.state.authToken || !this.state.keys || !this.state.account) throw notLoggedIn('This device is not logged in: log in first');
    return decodeKeys(this.state.keys);
  }

  private assertAccount(email: string): void {
    const current = this.state.account?.email;
    if (current !== undefined && normalizeEmail(current) !== normalizeEmail(email)) {
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

  /**
   * One operation at a time in this process (the mutex) and, with a store that
   * locks, across processes: the state is re-read under the lock, so an edit
   * another process saved meanwhile is the starting point, never overwritten.
   */
  private exclusive<T>(work: () => Promise<T> | T): Promise<T> {
    return this.lock.runExclusive(async () => {
      const release = await this.options.store.lock?.();
      try {
        if (release) {
          const stored = await this.options.store.load();
          if (stored && stored.deviceId === this.state.deviceId) this.state = stored;
        }
        return await work();
      } finally {
        await release?.();
      }
    });
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
    // A fresh macrotask on every platform (process.nextTick is Node's alone).
    setTimeout(() => {
      throw error;
    });
  }
}

/** The state after an upload of `document` landed as `sealed`: it is the merge base, and seen. */
function withBase(state: DeviceState, sealed: SealedWalletState, chain: string, document: WalletDocument): DeviceState {
  return {
    ...state,
    base: { sequence: sealed.sequence, hmac: sealed.hmac, chain, document },
    seen: rememberStates(state.seen ?? [], [{ sequence: sealed.sequence, chain }]),
  };
}

function stateOf(state: { sequence: number; hmac: string }): { sequence: number; hmac: string } {
  return { sequence: state.sequence, hmac: state.hmac };
}

/**
 * A random pause after the n-th lost upload race (up to 10·2^n ms, at most
 * 250 ms): two devices that keep syncing in step would otherwise keep colliding
 * until one runs out of retries.
 */
function backOff(conflicts: number): Promise<void> {
  const ceiling = Math.min(250, 10 * 2 ** conflicts);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/** What a device keeps of its keys: never the login password. */
type StoredKeys = Pick<WalletKeys, 'hmacKey' | 'walletKey'>;

function encodeKeys(keys: StoredKeys): NonNullable<DeviceState['keys']> {
  return { hmacKey: toHex(keys.hmacKey), walletKey: toHex(keys.walletKey) };
}

function decodeKeys(keys: NonNullable<DeviceState['keys']>): StoredKeys {
  return { hmacKey: fromHex(keys.hmacKey), walletKey: fromHex(keys.walletKey) };
}

/** The keys this device had changed since the merge base whose value the merge replaced. */
function lostEdits(base: WalletDocument, local: WalletDocument, merged: WalletDocument): LostEdit[] {
  const lost: LostEdit[] = [];
  for (const key of Object.keys(local.preferences).sort()) {
    const mine = entryOf(local, key)!;
    if (isSameEntry(entryOf(base, key), mine)) continue;
    const winner = entryOf(merged, key);
    if ((winner?.value ?? null) === mine.value) continue;
    lost.push({ key, localValue: mine.value, winningValue: winner?.value ?? null, winningDeviceId: winner?.deviceId ?? null });
  }
  return lost;
}

/**
 * The seed and parameters the server handed out, refused unless they are scrypt
 * within the protocol's bounds: a server must not talk a device into a cost
 * cheap to brute-force or one that exhausts its memory.
 */
function acceptedKeyParams(remote: RemoteKeyParams): { clientSaltSeed: string; keyParams: KeyParams } {
  const keyParams = { n: remote.n, r: remote.r, p: remote.p };
  const problem = remote.algorithm === 'scrypt' ? keyParamsProblem(keyParams) : `unknown key derivation algorithm ${JSON.stringify(remote.algorithm)}`;
  if (problem) {
    throw new WalletSyncError(
      ClientErrorCode.KeyParamsUnsupported,
      `The server's key parameters for this account are unusable (${problem}): refusing to derive; check the server URL`,
    );
  }
  return { clientSaltSeed: remote.clientSaltSeed, keyParams };
}

function assertKey(key: unknown): asserts key is string {
  if (!isPreferenceKey(key)) {
    throw invalidArgument(`A preference key must be a string of 1 to ${MAX_PREFERENCE_KEY_LENGTH} characters (got ${describeType(key)})`);
  }
}

function assertEmail(email: unknown): asserts email is string {
  if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email)) throw invalidArgument(`email must be a bare address like joe@example.com (got ${describeType(email)})`);
}

function assertRootPassword(password: unknown, name: string): asserts password is string {
  if (typeof password !== 'string' || password.length === 0) throw invalidArgument(`${name} must be a non-empty string`);
}

function describeType(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
}

function invalidArgument(message: string): WalletSyncError {
  return new WalletSyncError(ClientErrorCode.InvalidArgument, message);
}

function versionNotKept(sequence: number, why: string): WalletSyncError {
  return new WalletSyncError(ClientErrorCode.VersionNotKept, `The server does not keep the content of sequence ${sequence} (${why}): it cannot be restored`);
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
