import { randomInt } from 'node:crypto';
import { hashToken } from './tokens';

/**
 * The codes mailed in EmailVerify mode: 8 characters of Crockford's base32
 * (no I, L, O, U, so nothing reads as another character), 40 random bits.
 * Shown as `ABCD-EFGH`; accepted in any case, with or without the hyphen.
 * A guess is a failed password attempt, so the per-account lock-out bounds
 * guessing far below 2^40.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const VERIFICATION_CODE_PATTERN = /^[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}$/;

/** A new code, as the mail shows it. */
export function newVerificationCode(): string {
  const chars = Array.from({ length: 8 }, () => ALPHABET[randomInt(ALPHABET.length)]);
  return `${chars.slice(0, 4).join('')}-${chars.slice(4).join('')}`;
}

/** What is stored of a code, from any accepted spelling of it. */
export function hashVerificationCode(code: string): string {
  return hashToken(code.replace('-', '').toUpperCase());
}
