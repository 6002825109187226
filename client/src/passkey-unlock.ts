import { WalletSyncError, ClientErrorCode } from './client.errors';
import { concatBytes, fromBase64, randomBytes, toBase64, utf8 } from './encoding';
import type { WalletKeys } from './wallet-keys';

/**
 * Passkey unlock (PROTOCOL.md "Passkey sign-in that unlocks the wallet"): the
 * device's HMAC and wallet keys, wrapped under a key that only the passkey's
 * PRF output derives. The server stores the result as an opaque blob; only an
 * authenticator that evaluates the same PRF can open it again.
 */

/** The PRF input every client evaluates: sha256("wallet-sync passkey unlock v1"). */
export const PASSKEY_PRF_SALT_TEXT = 'wallet-sync passkey unlock v1';
const WRAP_INFO = 'wallet-sync passkey wrap v1';
/** iv (12) ‖ AES-256-GCM of hmacKey ‖ walletKey (64) with its tag (16). */
export const WRAPPED_KEYS_BYTES = 92;

export type UnlockKeys = Pick<WalletKeys, 'hmacKey' | 'walletKey'>;

/** The 32-byte PRF salt (the protocol's constant). */
export async function passkeyPrfSalt(): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', utf8(PASSKEY_PRF_SALT_TEXT)));
}

/** wrapKey = HKDF-SHA256(ikm = the PRF output, salt = empty, info = "wallet-sync passkey wrap v1"), 32 bytes, as raw bytes. */
export async function passkeyWrapKey(prfOutput: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const ikm = await globalThis.crypto.subtle.importKey('raw', new Uint8Array(prfOutput), 'HKDF', false, ['deriveBits']);
  const bits = await globalThis.crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8(WRAP_INFO) }, ikm, 256);
  return new Uint8Array(bits);
}

async function aesKey(prfOutput: Uint8Array, usage: 'encrypt' | 'decrypt') {
  return globalThis.crypto.subtle.importKey('raw', await passkeyWrapKey(prfOutput), 'AES-GCM', false, [usage]);
}

/** base64(iv ‖ AES-256-GCM(wrapKey, iv, hmacKey ‖ walletKey)); `iv` only for test vectors (a fresh random one otherwise). */
export async function wrapKeys(prfOutput: Uint8Array, keys: UnlockKeys, iv: Uint8Array = randomBytes(12)): Promise<string> {
  const plain = concatBytes(keys.hmacKey, keys.walletKey);
  const sealed = await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(iv) }, await aesKey(prfOutput, 'encrypt'), plain);
  return toBase64(concatBytes(iv, new Uint8Array(sealed)));
}

/** The keys in `wrappedKeys`; PASSKEY_UNLOCK_FAILED when this PRF output does not open them (another passkey, or a wrap of older keys). */
export async function unwrapKeys(prfOutput: Uint8Array, wrappedKeys: string): Promise<UnlockKeys> {
  const bytes = fromBase64(wrappedKeys);
  if (bytes.length !== WRAPPED_KEYS_BYTES) throw unlockFailed(`the wrapped keys are ${bytes.length} bytes, not ${WRAPPED_KEYS_BYTES}`);
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(await globalThis.crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.slice(0, 12) }, await aesKey(prfOutput, 'decrypt'), bytes.slice(12)));
  } catch {
    throw unlockFailed("this passkey's PRF output does not open them");
  }
  return { hmacKey: plain.slice(0, 32), walletKey: plain.slice(32, 64) };
}

const unlockFailed = (why: string) => new WalletSyncError(ClientErrorCode.PasskeyUnlockFailed, `The passkey cannot unlock the wallet: ${why}; enter the root password instead`);
