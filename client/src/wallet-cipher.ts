import { ClientErrorCode, WalletSyncError } from './client.errors';
import { concatBytes, fromBase64, fromUtf8, randomBytes, toBase64, utf8 } from './encoding';
import { isWalletStateHmacValid, walletStateHmac, type WalletKeys } from './wallet-keys';
import { InvalidDocumentError, parseDocument, salvageDocument, serializeDocument, type WalletDocument } from './wallet-document';

/**
 * The encrypted wallet format, version 1:
 *
 *   encryptedWallet = "v1:" + base64(nonce ‖ ciphertext ‖ tag)
 *
 * AES-256-GCM under the wallet key, a fresh random 12-byte nonce for every
 * upload (GCM loses both confidentiality and integrity if a nonce ever repeats
 * under one key), a 16-byte tag, and the associated data "wallet-sync/v1" so a
 * ciphertext cannot be passed off as another format version. The plaintext is
 * the wallet document as UTF-8 JSON. The hmac over `${sequence}:${encryptedWallet}`
 * (PROTOCOL.md) is checked before decrypting: it is what ties a ciphertext to
 * its sequence, so a server cannot replay an old wallet as a new one.
 */
export const WALLET_FORMAT_PREFIX = 'v1:';
const ASSOCIATED_DATA = utf8('wallet-sync/v1');
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A wallet state as the server stores it. */
export interface SealedWalletState {
  sequence: number;
  encryptedWallet: string;
  hmac: string;
}

function aesKey(walletKey: Uint8Array, usage: 'encrypt' | 'decrypt') {
  return globalThis.crypto.subtle.importKey('raw', new Uint8Array(walletKey), 'AES-GCM', false, [usage]);
}

export async function encryptWallet(document: WalletDocument, walletKey: Uint8Array): Promise<string> {
  const nonce = randomBytes(NONCE_BYTES);
  const sealed = await globalThis.crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: ASSOCIATED_DATA, tagLength: TAG_BYTES * 8 },
    await aesKey(walletKey, 'encrypt'),
    utf8(serializeDocument(document)),
  );
  // Web Crypto appends the tag to the ciphertext: nonce ‖ ciphertext ‖ tag, as format v1 reads.
  return WALLET_FORMAT_PREFIX + toBase64(concatBytes(nonce, new Uint8Array(sealed)));
}

export async function decryptWallet(encryptedWallet: string, walletKey: Uint8Array): Promise<WalletDocument> {
  const plaintext = await decryptPlaintext(encryptedWallet, walletKey);
  return asWalletSyncError(() => parseDocument(plaintext));
}

async function decryptPlaintext(encryptedWallet: string, walletKey: Uint8Array): Promise<string> {
  if (!encryptedWallet.startsWith(WALLET_FORMAT_PREFIX)) {
    const version = encryptedWallet.slice(0, encryptedWallet.indexOf(':') + 1 || 8);
    throw new WalletSyncError(ClientErrorCode.UnsupportedFormat, `The wallet uses format "${version}", which this client cannot read (it reads "${WALLET_FORMAT_PREFIX}")`);
  }
  let sealed: Uint8Array<ArrayBuffer>;
  try {
    sealed = fromBase64(encryptedWallet.slice(WALLET_FORMAT_PREFIX.length));
  } catch (error) {
    throw new WalletSyncError(ClientErrorCode.DecryptFailed, 'The encrypted wallet is not base64', { cause: error });
  }
  if (sealed.length < NONCE_BYTES + TAG_BYTES) {
    throw new WalletSyncError(ClientErrorCode.DecryptFailed, 'The encrypted wallet is too short to be a v1 wallet');
  }
  let plaintext: ArrayBuffer;
  try {
    plaintext = await globalThis.crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: sealed.subarray(0, NONCE_BYTES), additionalData: ASSOCIATED_DATA, tagLength: TAG_BYTES * 8 },
      await aesKey(walletKey, 'decrypt'),
      sealed.subarray(NONCE_BYTES),
    );
  } catch (error) {
    throw new WalletSyncError(ClientErrorCode.DecryptFailed, 'The wallet does not decrypt under this device\'s wallet key (tampered, or encrypted under other keys)', { cause: error });
  }
  try {
    return fromUtf8(new Uint8Array(plaintext));
  } catch (error) {
    throw new WalletSyncError(ClientErrorCode.DocumentInvalid, 'The decrypted wallet is not UTF-8 text', { cause: error });
  }
}

/**
 * Decryption worked, so the document came from a device holding this account's
 * keys: a bad document is a bug or a foreign app, not an attack, and gets its
 * own code naming the key, so the app can tell the user which preference to repair.
 */
function asWalletSyncError<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof InvalidDocumentError)) throw error;
    throw new WalletSyncError(ClientErrorCode.DocumentInvalid, `The decrypted wallet is not a valid wallet document: ${error.message}`, {
      cause: error,
      key: error.key,
    });
  }
}

/** Encrypts and signs a document as the wallet state for `sequence`. */
export async function sealWalletState(document: WalletDocument, sequence: number, keys: Pick<WalletKeys, 'hmacKey' | 'walletKey'>): Promise<SealedWalletState> {
  const encryptedWallet = await encryptWallet(document, keys.walletKey);
  return { sequence, encryptedWallet, hmac: await walletStateHmac(keys.hmacKey, sequence, encryptedWallet) };
}

/** Verifies a downloaded wallet state's hmac, then decrypts it. Throws WalletSyncError on either failure. */
export async function openWalletState(state: SealedWalletState, keys: Pick<WalletKeys, 'hmacKey' | 'walletKey'>): Promise<WalletDocument> {
  await assertHmac(state, keys);
  return decryptWallet(state.encryptedWallet, keys.walletKey);
}

async function assertHmac(state: SealedWalletState, keys: Pick<WalletKeys, 'hmacKey'>): Promise<void> {
  if (!(await isWalletStateHmacValid(keys.hmacKey, state))) {
    throw new WalletSyncError(
      ClientErrorCode.HmacMismatch,
      `The wallet state at sequence ${state.sequence} has an hmac that does not verify: it was altered, or signed under other keys (did the password change on another device?)`,
    );
  }
}

/** Like openWalletState, but keeps the well-formed preferences of an invalid document and lists the malformed ones. */
export async function salvageWalletState(
  state: SealedWalletState,
  keys: Pick<WalletKeys, 'hmacKey' | 'walletKey'>,
): Promise<{ document: WalletDocument; malformed: string[] }> {
  await assertHmac(state, keys);
  const plaintext = await decryptPlaintext(state.encryptedWallet, keys.walletKey);
  return asWalletSyncError(() => salvageDocument(plaintext));
}
