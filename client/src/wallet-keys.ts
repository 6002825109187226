import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * The key derivation of PROTOCOL.md "Keys". The server never sees the root
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
  hmacKey: Buffer;
  /** Bytes 64-95: the AES-256-GCM key of the wallet. */
  walletKey: Buffer;
}

/** A fresh client salt seed: 32 random bytes as 64 lower-case hex characters. */
export function newClientSaltSeed(): string {
  return randomBytes(32).toString('hex');
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
export function clientSalt(email: string, clientSaltSeed: string): string {
  return createHash('sha256').update(`${normalizeEmail(email)}:${clientSaltSeed}`, 'utf8').digest('hex').slice(0, 32);
}

export async function deriveWalletKeys(
  rootPassword: string,
  email: string,
  clientSaltSeed: string,
  scryptCost: number = DEFAULT_SCRYPT_COST,
): Promise<WalletKeys> {
  assertScryptCost(scryptCost);
  const salt = Buffer.from(clientSalt(email, clientSaltSeed), 'ascii');
  const derived = await new Promise<Buffer>((resolve, reject) =>
    scrypt(
      Buffer.from(rootPassword, 'utf8'),
      salt,
      DERIVED_BYTES,
      // Node refuses anything above 32 MiB by default; N=2^20 needs 1 GiB (128·N·r bytes).
      { N: scryptCost, r: SCRYPT_BLOCK_SIZE, p: SCRYPT_PARALLELISM, maxmem: 129 * scryptCost * SCRYPT_BLOCK_SIZE },
      (error, key) => (error ? reject(error) : resolve(key)),
    ),
  );
  return {
    loginPassword: derived.subarray(0, 32).toString('base64'),
    hmacKey: Buffer.from(derived.subarray(32, 64)),
    walletKey: Buffer.from(derived.subarray(64, 96)),
  };
}

export function assertScryptCost(scryptCost: number): void {
  if (!Number.isInteger(scryptCost) || scryptCost < 2 || (scryptCost & (scryptCost - 1)) !== 0 || scryptCost > 2 ** 24) {
    throw new RangeError(`scrypt cost must be a power of two between 2 and 2^24, not ${scryptCost}`);
  }
}

/** hex(HMAC-SHA256(hmacKey, `${sequence}:${encryptedWallet}`)): binds the ciphertext to its sequence. */
export function walletStateHmac(hmacKey: Buffer, sequence: number, encryptedWallet: string): string {
  return createHmac('sha256', hmacKey).update(`${sequence}:${encryptedWallet}`, 'utf8').digest('hex');
}

/** Constant-time, so a server probing with forged states learns nothing from timing. */
export function isWalletStateHmacValid(hmacKey: Buffer, state: { sequence: number; encryptedWallet: string; hmac: string }): boolean {
  const expected = Buffer.from(walletStateHmac(hmacKey, state.sequence, state.encryptedWallet), 'hex');
  const given = /^[0-9a-f]{64}$/i.test(state.hmac) ? Buffer.from(state.hmac, 'hex') : Buffer.alloc(0);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
