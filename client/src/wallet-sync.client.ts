import { assertEmail, invalidArgument } from './client-arguments';
import { DeviceSession, type DeviceStatus, type LoginOptions, type PasskeySignInResult, type RegisterResult } from './device-session';
import type { SecondFactor, SecondFactorSource } from './client.errors';
import { graphqlEndpoint } from './graphql/sync-server.api';
import { SyncEngine, type PullResult, type PushResult, type SyncOptions, type SyncResult } from './sync-engine';
import { WalletHistory, type AccountActivityEvent, type RestoreResult, type WalletHistoryEntry } from './wallet-history';
import { watchWallet, type WalletWatch, type WatchOptions } from './wallet-watch';
import { DeviceConnection, type ConnectOptions, type WalletConnection } from './device-connection';
import type { DeviceStateStore } from './device-state.store';
import { preferenceValues, type PreferenceEntry, type WalletDocument } from './wallet-document';
import { keyParamsOf, type KeyParams } from './wallet-keys';
import { laterWriteWins, type PreferenceResolver } from './wallet-merge';
import { platformDefaults, type ScryptFunction, type WebAuthnCredentials, type WebSocketConstructor } from './platform';
import { ClientErrorCode, WalletSyncError } from './client.errors';
import type { PasskeyInfo } from './graphql/sync-server.api';
import { createCredential, creationOptions, getAssertion, requestOptions } from './passkey-ceremony';
import { passkeyPrfSalt, wrapKeys } from './passkey-unlock';

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
   * The WebSocket constructor connect() and watch() connect with. Default: the platform's
   * global WebSocket (browsers, React Native), or `ws` through the Node entry.
   */
  webSocket?: WebSocketConstructor;
  /** The scrypt implementation. Default: Node's native one through the Node entry, else @noble/hashes'. */
  scrypt?: ScryptFunction;
  /** WebAuthn for passkeys. Default: the platform's navigator.credentials (none in Node). */
  credentials?: WebAuthnCredentials;
}

/**
 * Why it exists: a wallet app's side of the protocol, as one object. It only
 * delegates, to five parts that share one device state and one lock (so a
 * live update can never interleave with a local edit or another sync):
 * - DeviceSession (device-session.ts): the state, the account, the keys and the auth token;
 * - SyncEngine (sync-engine.ts): verify, merge against the history chain, upload, retry;
 * - WalletHistory (wallet-history.ts): past states, restore, the security log;
 * - DeviceConnection (device-connection.ts): the one live connection that connect() and watch() hold;
 * - watchWallet (wallet-watch.ts): live updates turned into syncs.
 */
export class WalletSyncClient {
  private readonly session: DeviceSession;
  private readonly engine: SyncEngine;
  private readonly walletHistory: WalletHistory;
  private readonly connection: DeviceConnection;

  private constructor(
    private readonly options: WalletSyncClientOptions,
    session: DeviceSession,
  ) {
    const now = options.now ?? Date.now;
    this.session = session;
    this.engine = new SyncEngine({ session, now, resolve: options.resolvePreference ?? laterWriteWins, maxConflictRetries: options.maxConflictRetries ?? 10 });
    this.walletHistory = new WalletHistory({ session, engine: this.engine, now });
    this.connection = new DeviceConnection({ session, webSocket: options.webSocket });
  }

  /** Loads (or starts) this device's state from the store. */
  static async open(options: WalletSyncClientOptions): Promise<WalletSyncClient> {
    if (typeof options.url !== 'string' || !/^https?:\/\//i.test(options.url)) {
      throw invalidArgument(`The server URL must start with http:// or https:// (got ${JSON.stringify(options.url)})`);
    }
    if (options.deviceId !== undefined && (typeof options.deviceId !== 'string' || options.deviceId.length < 1 || options.deviceId.length > 255)) {
      throw invalidArgument('deviceId must be a string of 1 to 255 characters');
    }
    const state = await DeviceSession.load(options.store, options.deviceId);
    const dependencies = {
      store: options.store,
      endpoint: graphqlEndpoint(options.url),
      keyParams: keyParamsOf(options.keyParams),
      scrypt: options.scrypt ?? platformDefaults.scrypt,
    };
    return new WalletSyncClient(options, new DeviceSession(dependencies, state));
  }

  get deviceId(): string {
    return this.session.state.deviceId;
  }

  get email(): string | null {
    return this.session.state.account?.email ?? null;
  }

  /** The live preferences of the local document (unsynced edits included). */
  preferences(): Record<string, string> {
    return preferenceValues(this.session.state.local);
  }

  /** The local document with its per-key timestamps. */
  document(): WalletDocument {
    return this.session.state.local;
  }

  status(): DeviceStatus {
    return this.session.status();
  }

  /**
   * Creates the account with a fresh client salt seed and this client's key
   * parameters (WalletSyncClientOptions.keyParams), which the server stores for
   * the other devices. This device keeps the keys, so login() needs no password afterwards.
   */
  register(email: string, rootPassword: string): Promise<RegisterResult> {
    return this.session.register(email, rootPassword);
  }

  /**
   * EmailVerify: asks the server to mail a fresh code for the newest pending
   * registration of `email` (earlier codes of it stop working). The server
   * answers the same whether or not anything was pending, so nothing is learnt.
   */
  resendVerificationEmail(email: string): Promise<void> {
    assertEmail(email);
    return this.session.api.resendVerificationEmail(email);
  }

  /**
   * Gets an auth token for this device. With credentials it asks the server for
   * the account's client salt seed and key parameters first (a new device has
   * neither, and another device's password change replaces them), derives the
   * keys with them, then logs in.
   * Without, it uses what register() derived in this process (a device that
   * restarted, or whose token expired, logs in with the root password again).
   */
  login(credentials?: { email: string; rootPassword: string }, options: LoginOptions = {}): Promise<{ deviceId: string; expiresAt: string }> {
    return this.session.login(credentials, options);
  }

  /** The account's second factor, as the server has it. */
  secondFactorStatus(): Promise<{ enabled: boolean; totp: boolean; recoveryCodesLeft: number }> {
    this.session.keys();
    return this.session.api.secondFactorStatus();
  }

  /**
   * Starts TOTP enrolment: the secret and its otpauth:// URI for an
   * authenticator app (show the URI as a QR code). Nothing is enabled until
   * confirmTotp() gets a code of it. Needs the root password (the server asks
   * for the login password, derived from it).
   */
  async enableTotp(rootPassword: string): Promise<{ secret: string; uri: string }> {
    return this.session.api.beginTotp(await this.loginPassword(rootPassword));
  }

  /** Enables TOTP with a code of the app; the recovery codes, shown once (empty when the account already had some). */
  confirmTotp(code: string): Promise<string[]> {
    this.session.keys();
    return this.session.api.confirmTotp(code);
  }

  /** Turns TOTP off (its recovery codes go with it); false when it was not on. */
  async disableTotp(rootPassword: string): Promise<boolean> {
    return this.session.api.disableTotp(await this.loginPassword(rootPassword));
  }

  /** Ten new recovery codes, shown once; the earlier ones stop working. */
  async regenerateRecoveryCodes(rootPassword: string): Promise<string[]> {
    return this.session.api.regenerateRecoveryCodes(await this.loginPassword(rootPassword));
  }

  /**
   * Adds a passkey (navigator.credentials.create()) named `name` as a second
   * factor. When the authenticator supports the PRF extension, it also wraps
   * this device's keys under the passkey (PROTOCOL.md), so the passkey alone
   * can later sign in and unlock the wallet on a new device; that may ask the
   * authenticator twice (a browser that gives PRF only at get()). Needs the
   * root password (the server asks for the login password, derived from it).
   */
  async addPasskey(name: string, rootPassword: string): Promise<PasskeyInfo> {
    const loginPassword = await this.loginPassword(rootPassword);
    const salt = await passkeyPrfSalt();
    const options = await this.session.api.beginPasskeyRegistration(loginPassword);
    const created = await createCredential(this.credentials(), creationOptions(options, salt));
    const wrappedKeys = created.prfOutput ? await wrapKeys(created.prfOutput, this.session.keys()) : undefined;
    const passkey = await this.session.api.finishPasskeyRegistration({ response: created.json, name, ...(wrappedKeys ? { wrappedKeys } : {}) });
    if (!wrappedKeys && created.prfEnabled) return this.enablePasskeyUnlock(passkey.id);
    return passkey;
  }

  /**
   * Wraps this device's keys under a passkey (asked for with
   * navigator.credentials.get(); pick the one with this id): again after a
   * password change dropped the wraps, or for a passkey added elsewhere.
   * PASSKEY_UNLOCK_FAILED when the authenticator gives no PRF output.
   */
  async enablePasskeyUnlock(id: string): Promise<PasskeyInfo> {
    const keys = this.session.keys();
    const salt = await passkeyPrfSalt();
    // Only the PRF output is wanted: the challenge is never answered to the server and lapses.
    const assertion = await getAssertion(this.credentials(), requestOptions(await this.session.api.passkeySignInOptions(), salt));
    if (!assertion.prfOutput) {
      throw new WalletSyncError(ClientErrorCode.PasskeyUnlockFailed, 'This browser or authenticator gives no PRF output: the passkey can sign in, but not unlock the wallet');
    }
    return this.session.api.setPasskeyUnlock(id, await wrapKeys(assertion.prfOutput, keys));
  }

  /**
   * Signs this device in with a passkey alone (navigator.credentials.get()):
   * no root password, no second factor. The wallet is unlocked when the
   * passkey holds wrapped keys and the authenticator gives PRF output here;
   * otherwise `unlocked` is false with the reason, and unlock(rootPassword)
   * decrypts with the root password.
   */
  async loginWithPasskey(): Promise<PasskeySignInResult> {
    const salt = await passkeyPrfSalt();
    const assertion = await getAssertion(this.credentials(), requestOptions(await this.session.api.passkeySignInOptions(), salt));
    return this.session.loginWithPasskey(assertion);
  }

  /**
   * A passkey as the second factor of a password login: the assertion
   * (navigator.credentials.get()) for the request options of
   * SECOND_FACTOR_REQUIRED (`error.webauthn`, or the login callback's second argument).
   */
  async passkeySecondFactor(webauthn: string): Promise<{ webauthn: string }> {
    const assertion = await getAssertion(this.credentials(), requestOptions(webauthn, await passkeyPrfSalt()));
    return { webauthn: assertion.json };
  }

  /** After a passkey sign-in that could not unlock: the keys from the root password (refused when it does not fit the account's wallet). */
  unlock(rootPassword: string): Promise<void> {
    return this.session.unlock(rootPassword);
  }

  /** The account's passkeys. */
  passkeys(): Promise<PasskeyInfo[]> {
    this.session.keys();
    return this.session.api.passkeys();
  }

  private credentials(): WebAuthnCredentials | undefined {
    return this.options.credentials ?? platformDefaults.credentials;
  }

  /** The login password `rootPassword` derives for this device's account (refused when it is not this account's). */
  private async loginPassword(rootPassword: string): Promise<string> {
    this.session.keys();
    return (await this.session.rootKeys(rootPassword)).loginPassword;
  }

  /**
   * Revokes this device's auth token and forgets its keys; the documents stay
   * for the next login. The live connection closes (connect()'s `done` and
   * every watch's resolve).
   */
  async logout(): Promise<void> {
    await this.session.logout();
    await this.connection.end();
  }

  /** Sets a preference on this device (sync() uploads it). Keys are 1 to 256 characters, values strings. */
  setPreference(key: string, value: string): Promise<PreferenceEntry> {
    return this.engine.setPreference(key, value);
  }

  deletePreference(key: string): Promise<PreferenceEntry> {
    return this.engine.deletePreference(key);
  }

  /**
   * Downloads the server's wallet state and merges it into the local document;
   * it becomes the merge base. Null when the server has no wallet yet.
   */
  pull(): Promise<PullResult> {
    return this.engine.pull();
  }

  /**
   * Uploads the local document at the merge base's sequence + 1, even when
   * nothing changed. On a conflict the newer state the server answered with is
   * merged in (no extra request) and the caller pushes again.
   */
  push(): Promise<PushResult> {
    return this.engine.push();
  }

  /** pull → merge → push, merging and retrying on each conflict (at most maxConflictRetries times). */
  sync(options: SyncOptions = {}): Promise<SyncResult> {
    return this.engine.sync(options);
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
  changePassword(currentRootPassword: string, newRootPassword: string, options: { keyParams?: Partial<KeyParams>; secondFactor?: SecondFactorSource } = {}): Promise<void> {
    return this.engine.changePassword(currentRootPassword, newRootPassword, options);
  }

  /**
   * The headers of the account's wallet states, newest first, at most `limit`
   * (default 20, at most 1000): sequence, hmac, the device that wrote it (null:
   * a password change), when, size, and whether the server still keeps its
   * content (what restore() can go back to).
   */
  history(options: { limit?: number } = {}): Promise<WalletHistoryEntry[]> {
    return this.walletHistory.history(options);
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
    return this.walletHistory.restore(sequence);
  }

  /** The account's security log, newest first (PROTOCOL.md): at most `limit` (default 50, at most 500) events, older than `before` when given. */
  activity(options: { limit?: number; before?: string } = {}): Promise<AccountActivityEvent[]> {
    return this.walletHistory.activity(options);
  }

  /**
   * Deletes the account on the server (its wallet and every device's token)
   * and forgets everything this device held, keeping only its deviceId. Asks
   * for the root password again: a stolen device state must not be enough.
   * The live connection closes, as on logout().
   */
  async deleteAccount(rootPassword: string, options: { secondFactor?: SecondFactorSource } = {}): Promise<void> {
    await this.session.deleteAccount(rootPassword, options.secondFactor);
    await this.connection.end();
  }

  /**
   * Holds the live connection without watching: one graphql-ws socket,
   * authenticated with this device's token, over which pull(), push(), sync(),
   * history(), restore() and activity() go while it is up, and over HTTP while
   * it is down (an operation in flight when it drops is sent again over HTTP:
   * an upload is neither lost nor doubled). It reconnects with backoff, follows
   * a new login or password change on this device to the new token, and closes
   * on logout() and deleteAccount(); a token refused for good (a password
   * changed or the device revoked elsewhere) ends it, `done` rejecting with
   * UNAUTHENTICATED. watch() shares the same socket. Returns at once (the
   * server may be unreachable); calling it again while connected returns the
   * same connection. NOT_LOGGED_IN when the device is not logged in.
   */
  connect(options: ConnectOptions = {}): WalletConnection {
    return this.connection.connect(options);
  }

  /** Ends connect()'s hold: the socket closes, unless a watch still holds it. */
  disconnect(): Promise<void> {
    return this.connection.disconnect();
  }

  /**
   * Live updates: subscribes to walletUpdated and syncs whenever the server
   * holds a newer sequence than this device, reconnecting with backoff when the
   * connection drops. A new login on this device (which makes the server close
   * the connection of the replaced token) resubscribes with the new token; a
   * token refused for good (password changed, logged out elsewhere) ends the
   * watch with UNAUTHENTICATED; logout() and deleteAccount() end it. It holds
   * the same live connection as connect(): one socket for both.
   */
  watch(options: WatchOptions = {}): WalletWatch {
    return watchWallet({ session: this.session, engine: this.engine, connection: this.connection }, options);
  }
}
