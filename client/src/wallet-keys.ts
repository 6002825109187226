import { equalBytes, fromHex, randomBytes, toBase64, toHex, utf8 } from './encoding';
import { platformDefaults, type ScryptFunction } from './platform';

/**
 * The key derivation of the protocol's "Keys". The server never sees the root
 * password: it gets only the login password derived from it, and the wallet and
 * HMAC keys never leave the device. Every device of an account must use the same
 * scrypt cost, or it derives other keys and its login fails.
 */

/** N of the reference derivation (2^20: about 1 GiB of memory and a few seconds). */
export const DEFAULT_SCRYPT_COST = 2 ** 20;
const SCRYPT_BLOCK_SIZE = 8;
const SCRYPT_PARALLELISM = 1;
const DERIVED_BYTES = 96;

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

export async function deriveWalletKeys(
  rootPassword: string,
  email: string,
  clientSaltSeed: string,
  scryptCost: number = DEFAULT_SCRYPT_COST,
  scrypt: ScryptFunction = platformDefaults.scrypt,
): Promise<WalletKeys> {
  assertScryptCost(scryptCost);
  const salt = utf8(await clientSalt(email, clientSaltSeed));
  const derived = await scrypt(utf8(rootPassword), salt, { n: scryptCost, r: SCRYPT_BLOCK_SIZE, p: SCRYPT_PARALLELISM }, DERIVED_BYTES);
  return {
    loginPassword: toBase64(derived.subarray(0, 32)),
    hmacKey: derived.slice(32, 64),
    walletKey: derived.slice(64, 96),
  };
}

export function assertScryptCost(scryptCost: number): void {
  if (!Number.isInteger(scryptCost) || scryptCost < 2 || (scryptCost & (scryptCost - 1)) !== 0 || scryptCost > 2 ** 24) {
    throw new RangeError(`scrypt cost must be a power of two between 2 and 2^24, not ${scryptCost}`);
  }
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
