/**
 * Every failure the client reports is a WalletSyncError with a stable code: the
 * server's `extensions.code` for errors the server answered (UNAUTHENTICATED,
 * EMAIL_TAKEN, ...), or one of the client's own codes below for what the client
 * found itself. Apps switch on `code`, never on the message.
 */
export const ClientErrorCode = {
  /** The server could not be reached, or answered something that is not GraphQL. */
  Network: 'NETWORK_ERROR',
  /** No auth token on this device: log in first. */
  NotLoggedIn: 'NOT_LOGGED_IN',
  /** A downloaded wallet state's hmac does not verify under this device's HMAC key. */
  HmacMismatch: 'WALLET_HMAC_MISMATCH',
  /**
   * No longer raised (since 0.2.0): a server whose history went back or forked is
   * healed and reported as a `divergence` in the result. Kept so apps that
   * switch on it still compile.
   */
  SequenceRollback: 'WALLET_SEQUENCE_ROLLBACK',
  /** The encrypted wallet does not decrypt under this device's wallet key, or is not a wallet document. */
  DecryptFailed: 'WALLET_DECRYPT_FAILED',
  /**
   * The wallet decrypted, but is not a valid wallet document (a preference that
   * is not a string, say). `key` names the offending preference when there is
   * one; nothing changed locally, and `sync({ repair: true })` uploads a repaired state.
   */
  DocumentInvalid: 'WALLET_DOCUMENT_INVALID',
  /** The encrypted wallet uses a format version this client does not know. */
  UnsupportedFormat: 'WALLET_FORMAT_UNSUPPORTED',
  /** sync() or changePassword() kept meeting newer states and gave up after its retry budget. */
  ConflictRetriesExhausted: 'CONFLICT_RETRIES_EXHAUSTED',
  /** The local device state file is unreadable, belongs to another account, or stayed locked by another process. */
  LocalState: 'LOCAL_STATE_INVALID',
  /** restore(sequence): the server no longer keeps that version's content (only the most recent ones are kept), or never had it. */
  VersionNotKept: 'WALLET_VERSION_NOT_KEPT',
  /** restore(sequence): that version was encrypted under an earlier password, whose keys this device no longer has. */
  VersionUnderEarlierPassword: 'WALLET_VERSION_EARLIER_PASSWORD',
  /**
   * The server handed out key parameters this client will not derive with: an
   * algorithm other than scrypt, or N, r, p outside the protocol's bounds (a
   * cost below them would make the root password cheap to guess from the login
   * password; one above them would exhaust the device's memory). Nothing was derived or sent.
   */
  KeyParamsUnsupported: 'KEY_PARAMS_UNSUPPORTED',
  /**
   * history(): the server's answer does not move forward (a page repeats
   * sequences already read, or goes back), so reading on would never end.
   */
  HistoryInvalid: 'WALLET_HISTORY_INVALID',
  /** An argument the app passed is unusable (a preference value that is not a string, an empty root password, a URL without http(s)://). */
  InvalidArgument: 'INVALID_ARGUMENT',
  /**
   * A passkey signed in but cannot open the wallet here: the browser or
   * authenticator gives no PRF output, the passkey holds no wrapped keys (none
   * were made, or a password change dropped them), or they do not open. The
   * device is signed in; unlock(rootPassword) decrypts with the root password.
   */
  PasskeyUnlockFailed: 'PASSKEY_UNLOCK_FAILED',
  /** No WebAuthn here (navigator.credentials), or the user or authenticator declined the ceremony. */
  PasskeyUnavailable: 'PASSKEY_UNAVAILABLE',
} as const;

export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Server codes from PROTOCOL.md "Errors" that the client and CLI react to. */
export const ServerErrorCode = {
  Unauthenticated: 'UNAUTHENTICATED',
  AccountNotVerified: 'ACCOUNT_NOT_VERIFIED',
  RateLimited: 'RATE_LIMITED',
  /**
   * The wallet is over the server's limit (serverInfo.maxWalletBytes). The
   * client checks before uploading and names the largest preference in `key`.
   */
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  /** The password was right; the account needs its second factor: `methods` says which it has. Retry with one (SecondFactorRequiredError.retry). */
  SecondFactorRequired: 'SECOND_FACTOR_REQUIRED',
  /** A wrong, used or expired TOTP code or recovery code. */
  SecondFactorInvalid: 'SECOND_FACTOR_INVALID',
} as const;

/** A second factor as login(), deleteAccount() and the server take it: exactly one of the fields. */
export type SecondFactor = { totp: string } | { recoveryCode: string } | { webauthn: string };

/**
 * A factor given at once, or a callback asked for one, with the account's
 * methods, only when the server answers SECOND_FACTOR_REQUIRED (the keys are
 * not derived again).
 */
export type SecondFactorSource = SecondFactor | ((methods: SecondFactorMethod[], webauthn?: string) => Promise<SecondFactor>);

/**
 * Runs `request` with the factor `source` gives at once; when the server
 * answers SECOND_FACTOR_REQUIRED and `source` is a callback, asks it and runs
 * the request once more with its answer.
 */
export async function withSecondFactor<T>(source: SecondFactorSource | undefined, request: (factor?: SecondFactor) => Promise<T>): Promise<T> {
  if (typeof source !== 'function') return request(source);
  try {
    return await request(undefined);
  } catch (error) {
    if (!(error instanceof WalletSyncError) || error.code !== ServerErrorCode.SecondFactorRequired) throw error;
    return request(await source(error.methods ?? [], error.webauthn));
  }
}

/** The methods an account may have enabled (PROTOCOL.md "Second factor"). */
export type SecondFactorMethod = 'TOTP' | 'WEBAUTHN' | 'RECOVERY_CODE';

export class WalletSyncError extends Error {
  override readonly name = 'WalletSyncError';
  /** From RATE_LIMITED errors: when the server accepts the next attempt. */
  readonly retryAfterSeconds?: number;
  /** WALLET_DOCUMENT_INVALID: the preference at fault. */
  readonly key?: string;
  /** SECOND_FACTOR_REQUIRED: the methods the account has enabled. */
  readonly methods?: SecondFactorMethod[];
  /** SECOND_FACTOR_REQUIRED with WEBAUTHN among the methods: the request options (JSON) a passkey answers (WalletSyncClient.passkeySecondFactor). */
  readonly webauthn?: string;

  constructor(
    /** A ClientErrorCode, or the server's `extensions.code`. */
    readonly code: string,
    message: string,
    options: { cause?: unknown; retryAfterSeconds?: number; key?: string; methods?: SecondFactorMethod[]; webauthn?: string } = {},
  ) {
    super(message, { cause: options.cause });
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.key = options.key;
    this.methods = options.methods;
    this.webauthn = options.webauthn;
  }
}

/** The first of a GraphQL result's errors as a WalletSyncError with the server's code (over HTTP and the live connection alike). */
export function fromGraphQLErrors(errors: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>): WalletSyncError {
  const first = errors[0];
  const extensions = first?.extensions ?? {};
  const { code, retryAfterSeconds, methods, webauthn } = extensions as { code?: unknown; retryAfterSeconds?: unknown; methods?: unknown; webauthn?: unknown };
  return new WalletSyncError(typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR', first?.message ?? 'The server answered with an error', {
    retryAfterSeconds: typeof retryAfterSeconds === 'number' ? retryAfterSeconds : undefined,
    methods: Array.isArray(methods) ? (methods.filter((m) => typeof m === 'string') as SecondFactorMethod[]) : undefined,
    webauthn: typeof webauthn === 'string' ? webauthn : undefined,
  });
}

/**
 * login() on an account with a second factor, without one: the password was
 * right. `retry(factor)` sends the same login again with the factor, with the
 * keys already derived (the root password is not asked for, nor scrypt run, again).
 */
export class SecondFactorRequiredError extends WalletSyncError {
  constructor(
    methods: SecondFactorMethod[],
    message: string,
    readonly retry: (factor: SecondFactor) => Promise<{ deviceId: string; expiresAt: string }>,
    webauthn?: string,
  ) {
    super(ServerErrorCode.SecondFactorRequired, message, { methods, webauthn });
  }
}

/** True for a wallet state the client refused to accept (tampered, rolled back, undecryptable). */
export function isIntegrityError(error: unknown): boolean {
  const integrity: string[] = [
    ClientErrorCode.HmacMismatch,
    ClientErrorCode.SequenceRollback,
    ClientErrorCode.DecryptFailed,
    ClientErrorCode.DocumentInvalid,
    ClientErrorCode.UnsupportedFormat,
  ];
  return error instanceof WalletSyncError && integrity.includes(error.code);
}
