import { createHmac, hkdfSync, randomInt } from 'node:crypto';

/**
 * Recovery codes (PROTOCOL.md "Second factor"): 10 single-use codes of 10
 * characters of Crockford's base32 (50 random bits each), shown as
 * `ABCDE-FGHJK`, accepted in any case, with or without the hyphen. Only a keyed
 * hash is stored: a database dump without SERVER_SECRET cannot even check a
 * guess offline.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const RECOVERY_CODE_COUNT = 10;
export const RECOVERY_CODE_PATTERN = /^[0-9A-HJKMNP-TV-Z]{5}-?[0-9A-HJKMNP-TV-Z]{5}$/i;

/** Fresh codes, as the owner is shown them. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from({ length: 10 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/** Hashes codes under a key of their own, derived from SERVER_SECRET; bound to the account. */
export class RecoveryCodeHasher {
  private readonly key: Buffer;

  constructor(serverSecret: string) {
    this.key = Buffer.from(hkdfSync('sha256', serverSecret, Buffer.alloc(0), 'wallet-sync recovery code v1', 32));
  }

  /** The same hash for every accepted spelling of a code. */
  hash(accountId: number, code: string): string {
    const canonical = code.replace('-', '').toUpperCase();
    return createHmac('sha256', this.key).update(`${accountId}:${canonical}`, 'utf8').digest('hex');
  }
}
