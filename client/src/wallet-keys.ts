import { ClientErrorCode, WalletSyncError } from './client.errors';
import { equalBytes, fromHex, randomBytes, toBase64, toHex, utf8 } from './encoding';
import { platformDefaults, type ScryptFunction } from './platform';

/**
 * The key derivation of the protocol's "Keys". The server never sees the root
 * password: it gets only the login password derived from it, and the wallet and
 * HMAC keys never leave the device. The scrypt parameters belong to the
 * account: the registering device chooses them, the server keeps them with the
 * client salt seed, and every other device reads them there before deriving.
 */

/** scrypt's cost (N, a power of two), block size (r) and parallelism (p). */
export interface KeyParams {
  n: number;
  r: number;
  p: number;
}

/** The protocol's default: 128 MiB per derivation (128·N·r bytes), workable on phones. */
export const DEFAULT_KEY_PARAMS: Readonly<KeyParams> = Object.freeze({ n: 2 ** 17, r: 8, p: 1 });

/**
 * The protocol's bounds, which the server enforces too. The client checks them
 * on what the server hands out as well: a server offering N=2^4 would make the
 * login password it receives cheap to brute-force back to the root password,
 * and one offering N=2^30 would exhaust the device's memory.
 */
export const KEY_PARAMS_BOUNDS = Object.freeze({
  n: Object.freeze({ min: 2 ** 14, max: 2 ** 20 }),
  r: Object.freeze({ min: 1, max: 16 }),
  p: Object.freeze({ min: 1, max: 4 }),
  /**
   * scrypt holds 128·N·r bytes at once: the per-parameter bounds alone allow
   * N=2^20 with r=16 (2 GiB), which kills a phone's app or a small VM. 1 GiB is
   * what the largest documented parameters (N=2^20, r=8, accounts from before
   * protocol 2) need.
   */
  memoryBytes: 2 ** 30,
  /**
   * The work, N·r·p block mixes: p runs them one after another in every
   * implementation a client uses, so p=4 at the memory bound would take four
   * times the largest documented derivation (N=2^20, r=8, p=1 = 2^23).
   */
  work: 2 ** 23,
});

const DERIVED_BYTES = 96;

/** What is wrong with `params` under the protocol's bounds, or null when they are within them. */
export function keyParamsProblem(params: unknown): string | null {
  if (typeof params !== 'object' || params === null) return 'key parameters must be an object { n, r, p }';
  const { n, r, p } = params as Partial<Record<keyof KeyParams, unknown>>;
  const { n: nBounds, r: rBounds, p: pBounds } = KEY_PARAMS_BOUNDS;
  const isInt = (value: unknown, min: number, max: number): value is number => Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
  if (!isInt(n, nBounds.min, nBounds.max) || (n & (n - 1)) !== 0) return `scrypt N must be a power of two from 2^14 (16384) to 2^20 (1048576), not ${String(n)}`;
  if (!isInt(r, rBounds.min, rBounds.max)) return `scrypt r must be an integer from ${rBounds.min} to ${rBounds.max}, not ${String(r)}`;
  if (!isInt(p, pBounds.min, pBounds.max)) return `scrypt p must be an integer from ${pBounds.min} to ${pBounds.max}, not ${String(p)}`;
  // RFC 7914 requires N < 2^(128·r/8). The protocol's bounds let r=1 pass with N up to 2^20, but OpenSSL (Node's
  // scrypt) and Python's hashlib refuse N >= 2^16 with r=1: an account with such parameters could not be
  // opened on those platforms, so neither chosen nor accepted here.
  if (16 * r <= 20 && n >= 2 ** (16 * r)) return `scrypt N must be below 2^${16 * r} with r=${r} (RFC 7914: N < 2^(16·r)), not ${n}; raise r`;
  const { memoryBytes, work } = KEY_PARAMS_BOUNDS;
  if (128 * n * r > memoryBytes) {
    return `scrypt N=${n} with r=${r} needs ${mebibytes(128 * n * r)} of memory (128·N·r), above the ${mebibytes(memoryBytes)} bound; lower N or r`;
  }
  if (n * r * p > work) return `scrypt N·r·p = ${n}·${r}·${p} = ${n * r * p} is above the work bound 2^23 (${work}); lower N, r or p`;
  return null;
}

function mebibytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${bytes / 2 ** 30} GiB` : `${bytes / 2 ** 20} MiB`;
}

/** `params` completed with `defaults` (N=2^17, r=8, p=1) and checked against the bounds; INVALID_ARGUMENT outside them. */
export function keyParamsOf(params?: Partial<KeyParams>, defaults: KeyParams = DEFAULT_KEY_PARAMS): KeyParams {
  const given: unknown = params;
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    throw new WalletSyncError(ClientErrorCode.InvalidArgument, 'key parameters must be an object { n, r, p }');
  }
  const complete = { n: params?.n ?? defaults.n, r: params?.r ?? defaults.r, p: params?.p ?? defaults.p };
  const problem = keyParamsProblem(complete);
  if (problem) throw new WalletSyncError(ClientErrorCode.InvalidArgument, problem);
  return complete;
}

export interface WalletKeys {
  /** Base64 of bytes 0-31: the password the server knows this account by. */
  loginPassword: string;
  /** Bytes 32-63: signs `${sequence}:${encryptedWallet}`. */
  hmacKey: Uint8Array;
  /** Bytes 64-95: the AES-256-GCM key of the wallet. */
  walletKey: Uint8Array;
}

/** A fresh client salt seed: 32 random bytes as 64 lower-case hex characters. */
export function newClientSaltSeed(): string {
  return toHex(randomBytes(32));
}

/**
 * How the protocol identifies an account: Unicode NFC, then lower-cased. The
 * salt is derived from it, so `Joe2@Example.com` and `joe2@example.com` typed
 * on two devices give the same keys.
 */
export function normalizeEmail(email: string): string {
  return email.normalize('NFC').toLowerCase();
}

/** The scrypt salt: the first 32 hex characters of sha256(normalizedEmail + ":" + seed), used as ASCII bytes. */
export async function clientSalt(email: string, clientSaltSeed: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', utf8(`${normalizeEmail(email)}:${clientSaltSeed}`));
  return toHex(new Uint8Array(digest)).slice(0, 32);
}

/** scrypt(rootPassword, salt, N, r, p, 96 bytes), split into the login password, HMAC key and wallet key. INVALID_ARGUMENT for parameters outside the bounds. */
export async function deriveWalletKeys(
  rootPassword: string,
  email: string,
  clientSaltSeed: string,
  keyParams: KeyParams = DEFAULT_KEY_PARAMS,
  scrypt: ScryptFunction = platformDefaults.scrypt,
): Promise<WalletKeys> {
  const params = keyParamsOf(keyParams);
  const salt = utf8(await clientSalt(email, clientSaltSeed));
  const derived = await scrypt(utf8(rootPassword), salt, params, DERIVED_BYTES);
  return {
    loginPassword: toBase64(derived.subarray(0, 32)),
    hmacKey: derived.slice(32, 64),
    walletKey: derived.slice(64, 96),
  };
}

/** hex(HMAC-SHA256(hmacKey, `${sequence}:${encryptedWallet}`)): binds the ciphertext to its sequence. */
export async function walletStateHmac(hmacKey: Uint8Array, sequence: number, encryptedWallet: string): Promise<string> {
  const key = await globalThis.crypto.subtle.importKey('raw', new Uint8Array(hmacKey), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return toHex(new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, utf8(`${sequence}:${encryptedWallet}`))));
}

/** Constant-time, so a server probing with forged states learns nothing from timing. */
export async function isWalletStateHmacValid(hmacKey: Uint8Array, state: { sequence: number; encryptedWallet: string; hmac: string }): Promise<boolean> {
  const expected = fromHex(await walletStateHmac(hmacKey, state.sequence, state.encryptedWallet));
  const given = /^[0-9a-f]{64}$/i.test(state.hmac) ? fromHex(state.hmac) : new Uint8Array(0);
  return equalBytes(given, expected);
}
