import { ClientErrorCode, WalletSyncError } from './client.errors';
import { MAX_PREFERENCE_KEY_LENGTH, isPreferenceKey } from './wallet-document';

/**
 * The checks on what an app passes in, shared by the parts of
 * WalletSyncClient: a wrong argument is refused with INVALID_ARGUMENT before
 * anything is derived, sent or saved, with a message that names it.
 */

export function assertKey(key: unknown): asserts key is string {
  if (!isPreferenceKey(key)) {
    throw invalidArgument(`A preference key must be a string of 1 to ${MAX_PREFERENCE_KEY_LENGTH} characters (got ${describeType(key)})`);
  }
}

export function assertEmail(email: unknown): asserts email is string {
  if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email)) throw invalidArgument(`email must be a bare address like joe@example.com (got ${describeType(email)})`);
}

export function assertRootPassword(password: unknown, name: string): asserts password is string {
  if (typeof password !== 'string' || password.length === 0) throw invalidArgument(`${name} must be a non-empty string`);
}

export function describeType(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
}

export function invalidArgument(message: string): WalletSyncError {
  return new WalletSyncError(ClientErrorCode.InvalidArgument, message);
}
