import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ClientErrorCode, WalletSyncError } from './client.errors';
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
const ASSOCIATED_DATA = Buffer.from('wallet-sync/v1', 'ascii');
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A wallet state as the server stores it. */
export interface SealedWalletState {
  sequence: number;
  encryptedWallet: string;
  hmac: string;
}

export function encryptWallet(document: WalletDocument, walletKey: Buffer): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', walletKey, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(ASSOCIATED_DATA);
  const ciphertext = Buffer.concat([cipher.update(serializeDocument(document), 'utf8'), cipher.final()]);
  return WALLET_FORMAT_PREFIX + Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]).toString('base64');
}

export function decryptWallet(encryptedWallet: string, walletKey: Buffer): WalletDocument {
  return asWalletSyncError(() => parseDocument(decryptPlaintext(encryptedWallet, walletKey)));
}

function decryptPlaintext(encryptedWallet: string, walletKey: Buffer): string {
  if (!encryptedWallet.startsWith(WALLET_FORMAT_PREFIX)) {
    const version = encryptedWallet.slice(0, encryptedWallet.indexOf(':') + 1 || 8);
    throw new WalletSyncError(ClientErrorCode.UnsupportedFormat, `The wallet uses format "${version}", which this client cannot read (it reads "${WALLET_FORMAT_PREFIX}")`);
  }
  const sealed = Buffer.from(encryptedWallet.slice(WALLET_FORMAT_PREFIX.length), 'base64');
  if (sealed.length < NONCE_BYTES + TAG_BYTES) {
    throw new WalletSyncError(ClientErrorCode.DecryptFailed, 'The encrypted wallet is too short to be a v1 wallet');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', walletKey, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(ASSOCIATED_DATA);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new WalletSyncError(ClientErrorCode.DecryptFailed, 'The wallet does not decrypt under this device\'s wallet key (tampered, or encrypted under other keys)', { cause: error });
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
export function sealWalletState(document: WalletDocument, sequence: number, keys: Pick<WalletKeys, 'hmacKey' | 'walletKey'>): SealedWalletState {
  const encryptedWallet = encryptWallet(document, keys.walletKey);
  return { sequence, encryptedWallet, hmac: walletStateHmac(keys.hmacKey, sequence, encryptedWallet) };
}

/** Verifies a downloaded wallet state's hmac, then decrypts it. Throws WalletSyncError on either failure. */
export function openWalletState(state: SealedWalletState, keys: Pick<WalletKeys, 'hmacKey' | 'walletKey'>): WalletDocument {
  assertHmac(state, keys);
  return decryptWallet(state.encryptedWallet, keys.walletKey);
}

function assertHmac(state: SealedWalletState, keys: Pick<WalletKeys, 'hmacKey'>): void {
  if (!isWalletStateHmacValid(keys.hmacKey, state)) {
    throw new WalletSyncError(
      ClientErrorCode.HmacMismatch,
      `The wallet state at sequence ${state.sequence} has an hmac that does not verify: it was altered, or signed under other keys (did the password change on another device?)`,
    );
  }
}

/** Like openWalletState, but keeps the well-formed preferences of an invalid document and lists the malformed ones. */
export function salvageWalletState(state: SealedWalletState, keys: Pick<WalletKeys, 'hmacKey' | 'walletKey'>): { document: WalletDocument; malformed: string[] } {
  assertHmac(state, keys);
  return asWalletSyncError(() => salvageDocument(decryptPlaintext(state.encryptedWallet, keys.walletKey)));
}
