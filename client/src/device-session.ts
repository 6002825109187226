import { Mutex } from 'async-mutex';
import { assertEmail, assertRootPassword } from './client-arguments';
import { ClientErrorCode, SecondFactorRequiredError, ServerErrorCode, WalletSyncError, withSecondFactor, type SecondFactor, type SecondFactorSource } from './client.errors';

export interface LoginOptions {
  /**
   * For an account with a second factor: the factor itself (e.g. from --totp),
   * or a callback that is asked for one, with the account's methods (and, with
   * WEBAUTHN, the request options for WalletSyncClient.passkeySecondFactor), only when
   * the server answers SECOND_FACTOR_REQUIRED. Without it, login() throws a
   * SecondFactorRequiredError whose retry(factor) finishes the login.
   */
  secondFactor?: SecondFactorSource;
  /**
   * EmailVerify: the code the server mailed at registration, needed on the
   * first login of a pending account (ignored once it is verified); or a
   * callback asked for it, with the email, only when the server answers
   * ACCOUNT_NOT_VERIFIED, so the keys are derived once.
   */
  verificationCode?: string | ((email: string) => Promise<string>);
}

/** What register() answers. */
export interface RegisterResult {
  /** The account exists and is verified: log in. */
  verified: boolean;
  /**
   * EmailVerify: the registration waits for its code, mailed to the address;
   * the first login must carry it (LoginOptions.verificationCode).
   */
  pending: boolean;
}
import { newDeviceState, type DeviceState, type DeviceStateStore } from './device-state.store';
import { equalBytes, fromHex, randomBytes, toHex } from './encoding';
import { SyncServerApi, type RemoteKeyParams } from './graphql/sync-server.api';
import { EMPTY_DOCUMENT, entryOf, isSameEntry } from './wallet-document';
import { deriveWalletKeys, isWalletStateHmacValid, keyParamsProblem, newClientSaltSeed, normalizeEmail, type KeyParams, type WalletKeys } from './wallet-keys';
import type { ScryptFunction } from './platform';
import { unwrapKeys } from './passkey-unlock';

/** loginWithPasskey's outcome: signed in, and unlocked unless `reason` says why not. */
export interface PasskeySignInResult {
  deviceId: string;
  expiresAt: string;
  /** The device holds the wallet keys: it can sync. False: unlock(rootPassword) first. */
  unlocked: boolean;
  reason?: string;
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

/** What a device keeps of its keys: never the login password. */
export type StoredKeys = Pick<WalletKeys, 'hmacKey' | 'walletKey'>;

export interface DeviceSessionDependencies {
  store: DeviceStateStore;
  /** The server's GraphQL endpoint. */
  endpoint: URL;
  /** The key parameters register() gives a new account. */
  keyParams: KeyParams;
  scrypt: ScryptFunction;
}

/**
 * Why it exists: the one holder of a device's state and of the session with
 * the server (account, keys, auth token). The other parts of the client read
 * the state here and change it only through commit(), inside exclusive(), so
 * what memory holds never runs ahead of what a restart would find and no two
 * operations interleave.
 */
export class DeviceSession {
  readonly api: SyncServerApi;
  private readonly lock = new Mutex();
  private current: DeviceState;
  /**
   * The login password register() derived, in memory only, so the login() that
   * follows needs no password; never saved (a stolen state file must not be
   * enough to change the password or delete the account).
   */
  private registeredLoginPassword: { email: string; loginPassword: string } | null = null;

  constructor(
    private readonly deps: DeviceSessionDependencies,
    state: DeviceState,
  ) {
    this.current = state;
    this.api = new SyncServerApi(deps.endpoint, () => this.current.authToken?.token ?? null);
  }

  /**
   * This device's stored state, brought up to the current format, or a new
   * one; refused when it belongs to another device than `deviceId`.
   */
  static async load(store: DeviceStateStore, deviceId: string | undefined): Promise<DeviceState> {
    let stored = await store.load();
    // State files from earlier versions kept the login password: drop it on first open.
    if (stored?.keys && 'loginPassword' in stored.keys) {
      const { hmacKey, walletKey } = stored.keys;
      stored = { ...stored, keys: { hmacKey, walletKey } };
      await store.save(stored);
    }
    // State files from before per-account key parameters kept only N (r=8, p=1 then).
    const account = stored?.account as (DeviceState['account'] & { scryptCost?: number }) | null | undefined;
    if (stored && account && !account.keyParams) {
      const { email, clientSaltSeed, scryptCost } = account;
      stored = { ...stored, account: { email, clientSaltSeed, keyParams: { n: scryptCost ?? 2 ** 20, r: 8, p: 1 } } };
      await store.save(stored);
    }
    if (stored && deviceId && stored.deviceId !== deviceId) {
      throw new WalletSyncError(
        ClientErrorCode.LocalState,
        `This device state belongs to device "${stored.deviceId}", not "${deviceId}": use another state file`,
      );
    }
    return stored ?? newDeviceState(deviceId ?? `device-${toHex(randomBytes(6))}`);
  }

  get state(): DeviceState {
    return this.current;
  }

  get endpoint(): URL {
    return this.deps.endpoint;
  }

  status(): DeviceStatus {
    const { base: stateBase, local, deviceId, account, authToken } = this.current;
    const base = stateBase?.document ?? EMPTY_DOCUMENT;
    const keys = new Set([...Object.keys(base.preferences), ...Object.keys(local.preferences)]);
    return {
      deviceId,
      email: account?.email ?? null,
      loggedIn: authToken !== null,
      sequence: stateBase?.sequence ?? null,
      unsyncedKeys: [...keys].filter((key) => !isSameEntry(entryOf(base, key), entryOf(local, key))).sort(),
    };
  }

  register(email: string, rootPassword: string): Promise<RegisterResult> {
    assertEmail(email);
    assertRootPassword(rootPassword, 'rootPassword');
    return this.exclusive(async () => {
      this.assertAccount(email);
      const clientSaltSeed = newClientSaltSeed();
      const keyParams = this.deps.keyParams;
      const keys = await this.derive(rootPassword, email, clientSaltSeed, keyParams);
      const result = await this.api.register({ email, password: keys.loginPassword, clientSaltSeed, keyParams });
      const pending = !result.verified;
      await this.commit({ ...this.state, account: { email, clientSaltSeed, keyParams, ...(pending ? { pending } : {}) }, keys: encodeKeys(keys) });
      this.registeredLoginPassword = { email, loginPassword: keys.loginPassword };
      return { verified: result.verified, pending };
    });
  }

  login(credentials?: { email: string; rootPassword: string }, options: LoginOptions = {}): Promise<{ deviceId: string; expiresAt: string }> {
    if (credentials) {
      assertEmail(credentials.email);
      assertRootPassword(credentials.rootPassword, 'rootPassword');
    }
    return this.exclusive(async () => {
      let account = this.state.account;
      let keys: Pick<WalletKeys, 'loginPassword'> & Partial<WalletKeys>;
      if (credentials) {
        this.assertAccount(credentials.email);
        // A registration of this device still waiting for its code: the server would answer a decoy seed for it.
        const registeredHere = account?.pending ? { clientSaltSeed: account.clientSaltSeed, keyParams: account.keyParams } : null;
        const { clientSaltSeed, keyParams } = registeredHere ?? acceptedKeyParams(await this.api.clientKeyParams(credentials.email));
        keys = await this.derive(credentials.rootPassword, credentials.email, clientSaltSeed, keyParams);
        account = { email: credentials.email, clientSaltSeed, keyParams, ...(registeredHere ? { pending: true as const } : {}) };
      } else {
        const registered = this.registeredLoginPassword;
        if (!account || !this.state.keys || !registered || normalizeEmail(registered.email) !== normalizeEmail(account.email)) {
          throw notLoggedIn('Log in with the email and root password');
        }
        keys = { loginPassword: registered.loginPassword };
      }
      const stored = keys.hmacKey && keys.walletKey ? encodeKeys({ hmacKey: keys.hmacKey, walletKey: keys.walletKey }) : this.state.keys;
      try {
        return await this.logInWithFactor(keys.loginPassword, { account, keys: stored }, options);
      } catch (error) {
        // The registration this device keeps may be gone (its code expired, or the email was verified with another
        // registration): the server cannot say which, but the user needs to know that registering again is the way on.
        if (!account?.pending || !(error instanceof WalletSyncError) || error.code !== ServerErrorCode.Unauthenticated) throw error;
        throw new WalletSyncError(
          error.code,
          `${error.message}. This device's registration of ${account.email} was waiting for its code: a wrong code or root password, ` +
            'or the registration expired (codes last 48 hours by default) or was replaced: register again for a new code',
        );
      }
    });
  }

  /**
   * logIn, for an account that may have a second factor: the one given, or the
   * callback's answer to SECOND_FACTOR_REQUIRED, or, without a callback, a
   * SecondFactorRequiredError whose retry() logs in with the factor. Each try
   * reuses `loginPassword`: the root password is derived once.
   */
  async logInWithFactor(
    loginPassword: string,
    changes: Partial<Pick<DeviceState, 'account' | 'keys'>>,
    { secondFactor, verificationCode }: LoginOptions,
  ): Promise<{ deviceId: string; expiresAt: string }> {
    const given = typeof secondFactor === 'function' ? undefined : secondFactor;
    let code = typeof verificationCode === 'function' ? undefined : verificationCode;
    const email = (changes.account ?? this.state.account)!.email;
    // A pending account has no second factor yet: the code is asked for first, and at most once.
    const attempt = async (factor?: SecondFactor) => {
      try {
        return await this.logIn(loginPassword, changes, factor, code);
      } catch (error) {
        if (!(error instanceof WalletSyncError) || error.code !== ServerErrorCode.AccountNotVerified || typeof verificationCode !== 'function' || code !== undefined) {
          throw error;
        }
        code = await verificationCode(email);
        return this.logIn(loginPassword, changes, factor, code);
      }
    };
    try {
      return await attempt(given);
    } catch (error) {
      if (!(error instanceof WalletSyncError) || error.code !== ServerErrorCode.SecondFactorRequired || given) throw error;
      const methods = error.methods ?? [];
      if (typeof secondFactor === 'function') return attempt(await secondFactor(methods, error.webauthn));
      throw new SecondFactorRequiredError(methods, error.message, (factor) => this.exclusive(() => attempt(factor)), error.webauthn);
    }
  }

  /**
   * Asks the server for this device's token with `loginPassword`, and keeps it
   * together with `changes` (the account and keys it was derived with): a
   * refused login leaves the state as it was.
   */
  async logIn(
    loginPassword: string,
    changes: Partial<Pick<DeviceState, 'account' | 'keys'>> = {},
    secondFactor?: SecondFactor,
    verificationCode?: string,
  ): Promise<{ deviceId: string; expiresAt: string }> {
    const { pending: _verifiedNow, ...account } = (changes.account ?? this.state.account)!;
    const token = await this.api.login({ email: account.email, password: loginPassword, deviceId: this.state.deviceId, secondFactor, verificationCode });
    // A login that succeeds is of a verified account: a pending registration became one with this login.
    await this.commit({ ...this.state, ...changes, account, authToken: { token: token.token, expiresAt: token.expiresAt } });
    return { deviceId: this.state.deviceId, expiresAt: token.expiresAt };
  }

  /**
   * A passkey sign-in (both factors at once): the token and the account the
   * server answered, and the keys the passkey's wrap opens with this
   * ceremony's PRF output. Without them (no PRF here, no wrap on the server, or
   * one that does not open) the device is signed in but locked, unless it
   * already holds the keys of the same account and seed; `reason` says why,
   * and unlock(rootPassword) finishes.
   */
  loginWithPasskey(assertion: { json: string; prfOutput: Uint8Array | undefined }): Promise<PasskeySignInResult> {
    return this.exclusive(async () => {
      const answer = await this.api.loginWithPasskey({ assertion: assertion.json, deviceId: this.state.deviceId });
      this.assertAccount(answer.email);
      const { clientSaltSeed, keyParams } = acceptedKeyParams(answer.keyParams);
      const account = { email: answer.email, clientSaltSeed, keyParams };
      let keys: DeviceState['keys'] = null;
      let reason: string | undefined;
      if (!answer.wrappedKeys) reason = 'this passkey holds no wrapped keys (none were made, or a password change dropped them)';
      else if (!assertion.prfOutput) reason = 'this browser or authenticator gave no PRF output, which opens the wrapped keys';
      else {
        try {
          keys = encodeKeys(await unwrapKeys(assertion.prfOutput, answer.wrappedKeys));
        } catch (error) {
          if (!(error instanceof WalletSyncError)) throw error;
          reason = error.message;
        }
      }
      // Keys held for the same account and seed are still the account's keys.
      const held = this.state.account;
      if (!keys && held && normalizeEmail(held.email) === normalizeEmail(account.email) && held.clientSaltSeed === clientSaltSeed) keys = this.state.keys;
      await this.commit({ ...this.state, account, keys, authToken: { token: answer.token.token, expiresAt: answer.token.expiresAt } });
      return { deviceId: this.state.deviceId, expiresAt: answer.token.expiresAt, unlocked: keys !== null, ...(keys ? {} : { reason }) };
    });
  }

  /**
   * Derives the keys of a signed-in but locked device from the root password.
   * The server's current wallet state, when there is one, must verify under
   * them: a wrong password is refused here rather than at the next sync.
   */
  unlock(rootPassword: string): Promise<void> {
    assertRootPassword(rootPassword, 'rootPassword');
    return this.exclusive(async () => {
      const { account, authToken } = this.state;
      if (!account || !authToken) throw notLoggedIn('This device is not signed in: log in first');
      const keys = await this.derive(rootPassword, account.email, account.clientSaltSeed, account.keyParams);
      const remote = await this.api.walletState();
      if (remote && !(await isWalletStateHmacValid(keys.hmacKey, remote))) throw new WalletSyncError(ServerErrorCode.Unauthenticated, 'Wrong root password');
      await this.commit({ ...this.state, keys: encodeKeys(keys) });
    });
  }

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

  deleteAccount(rootPassword: string, secondFactor?: SecondFactorSource): Promise<void> {
    assertRootPassword(rootPassword, 'rootPassword');
    return this.exclusive(async () => {
      this.keys();
      const keys = await this.rootKeys(rootPassword);
      await withSecondFactor(secondFactor, (factor) => this.api.deleteAccount(keys.loginPassword, factor));
      this.registeredLoginPassword = null;
      await this.commit(newDeviceState(this.state.deviceId));
    });
  }

  /** The keys of a logged-in device; throws NOT_LOGGED_IN otherwise. */
  keys(): StoredKeys {
    if (!this.state.authToken || !this.state.keys || !this.state.account) throw notLoggedIn('This device is not logged in: log in first');
    return decodeKeys(this.state.keys);
  }

  /** The keys `rootPassword` derives for this account, refused when they are not the ones this device holds. */
  async rootKeys(rootPassword: string): Promise<WalletKeys> {
    const account = this.state.account!;
    const keys = await this.derive(rootPassword, account.email, account.clientSaltSeed, account.keyParams);
    const held = this.state.keys && decodeKeys(this.state.keys);
    if (held && !(equalBytes(held.walletKey, keys.walletKey) && equalBytes(held.hmacKey, keys.hmacKey))) {
      // Checked here, so a typo costs no failed-login attempt on the server.
      throw new WalletSyncError(ServerErrorCode.Unauthenticated, 'Wrong root password');
    }
    return keys;
  }

  derive(rootPassword: string, email: string, clientSaltSeed: string, keyParams: KeyParams): Promise<WalletKeys> {
    return deriveWalletKeys(rootPassword, email, clientSaltSeed, keyParams, this.deps.scrypt);
  }

  /** Saved first, then taken: memory never runs ahead of what a restart would find. */
  async commit(next: DeviceState): Promise<void> {
    if (next === this.current) return;
    await this.deps.store.save(next);
    this.current = next;
  }

  /**
   * One operation at a time in this process (the mutex) and, with a store that
   * locks, across processes: the state is re-read under the lock, so an edit
   * another process saved meanwhile is the starting point, never overwritten.
   */
  exclusive<T>(work: () => Promise<T> | T): Promise<T> {
    return this.lock.runExclusive(async () => {
      const release = await this.deps.store.lock?.();
      try {
        if (release) {
          const stored = await this.deps.store.load();
          if (stored && stored.deviceId === this.current.deviceId) this.current = stored;
        }
        return await work();
      } finally {
        await release?.();
      }
    });
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
}

export function encodeKeys(keys: StoredKeys): NonNullable<DeviceState['keys']> {
  return { hmacKey: toHex(keys.hmacKey), walletKey: toHex(keys.walletKey) };
}

function decodeKeys(keys: NonNullable<DeviceState['keys']>): StoredKeys {
  return { hmacKey: fromHex(keys.hmacKey), walletKey: fromHex(keys.walletKey) };
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

function notLoggedIn(message: string): WalletSyncError {
  return new WalletSyncError(ClientErrorCode.NotLoggedIn, message);
}
