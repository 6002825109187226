import type { StateLink } from './history-chain';

/**
 * The wallet document: what the encrypted wallet holds. Preferences are a map
 * of key → value where every entry remembers when and by which device it was
 * last written, so a three-way merge can tell which side changed a key and, when
 * both did, pick a winner every device agrees on. A deleted preference stays as
 * a tombstone (value null): a deletion is a change like any other and must reach
 * the other devices.
 */

export interface PreferenceEntry {
  /** null: deleted (a tombstone). */
  value: string | null;
  /** Milliseconds since the epoch, from the writing device's clock (never behind the entry it replaced). */
  updatedAt: number;
  /** The device that wrote it: breaks ties between equal timestamps. */
  deviceId: string;
}

export interface WalletDocument {
  preferences: Readonly<Record<string, PreferenceEntry>>;
  /**
   * The state this document was built on (PROTOCOL.md "The history chain"), set
   * on what a device uploads and read from what it downloads; absent in a
   * document uploaded as sequence 1 of a fresh history (and in those of clients
   * before the chain). Edits and merges make a new document without it.
   */
  prev?: StateLink;
}

export const EMPTY_DOCUMENT: WalletDocument = Object.freeze({ preferences: Object.freeze({}) });

/** The live preferences: key → value, without tombstones. */
export function preferenceValues(document: WalletDocument): Record<string, string> {
  return Object.fromEntries(
    Object.entries(document.preferences)
      .filter((entry): entry is [string, PreferenceEntry & { value: string }] => entry[1].value !== null)
      .map(([key, entry]) => [key, entry.value]),
  );
}

/**
 * Writes (or, with value null, deletes) one preference. The timestamp never goes
 * back: an edit made after this device saw an entry must beat that entry even
 * when the other device's clock runs ahead of ours.
 */
export function withPreference(
  document: WalletDocument,
  key: string,
  value: string | null,
  deviceId: string,
  now: number,
): { document: WalletDocument; entry: PreferenceEntry } {
  const previous = Object.hasOwn(document.preferences, key) ? document.preferences[key] : undefined;
  const entry: PreferenceEntry = { value, updatedAt: Math.max(now, previous ? previous.updatedAt + 1 : 0), deviceId };
  // A computed key defines an own property even for "__proto__", unlike assignment.
  return { document: { preferences: { ...document.preferences, [key]: entry } }, entry };
}

export function isSameEntry(a: PreferenceEntry | undefined, b: PreferenceEntry | undefined): boolean {
  if (!a || !b) return a === b;
  return a.value === b.value && a.updatedAt === b.updatedAt && a.deviceId === b.deviceId;
}

export function isSameDocument(a: WalletDocument, b: WalletDocument): boolean {
  const keys = new Set([...Object.keys(a.preferences), ...Object.keys(b.preferences)]);
  for (const key of keys) if (!isSameEntry(entryOf(a, key), entryOf(b, key))) return false;
  return true;
}

export function entryOf(document: WalletDocument, key: string): PreferenceEntry | undefined {
  return Object.hasOwn(document.preferences, key) ? document.preferences[key] : undefined;
}

/**
 * The plaintext inside the encrypted wallet. `format` lets a later client change
 * the document shape; `prev` is an addition clients before the chain ignore.
 */
export function serializeDocument(document: WalletDocument): string {
  return JSON.stringify({ format: 1, ...(document.prev ? { prev: document.prev } : {}), preferences: document.preferences });
}

/** A decrypted document that is not a valid format-1 wallet document; `key` names the offending preference. */
export class InvalidDocumentError extends TypeError {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(message);
  }
}

/** Parses and checks a decrypted document; throws an InvalidDocumentError naming what (and which key) is wrong. */
export function parseDocument(json: string): WalletDocument {
  const { document, malformed } = readDocument(json);
  if (malformed.length) throw new InvalidDocumentError(`preference ${JSON.stringify(malformed[0])} is malformed`, malformed[0]);
  return document;
}

/**
 * For repairing a document another device wrote wrongly: keeps every
 * well-formed preference and lists the malformed ones instead of refusing the
 * whole document. A document that is not one at all still throws.
 */
export function salvageDocument(json: string): { document: WalletDocument; malformed: string[] } {
  return readDocument(json);
}

function readDocument(json: string): { document: WalletDocument; malformed: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new InvalidDocumentError('the decrypted wallet is not JSON');
  }
  if (!isRecord(parsed) || parsed.format !== 1) throw new InvalidDocumentError('not a format-1 wallet document');
  if (!isRecord(parsed.preferences)) throw new InvalidDocumentError('preferences is not an object');
  const kept: Array<[string, PreferenceEntry]> = [];
  const malformed: string[] = [];
  for (const [key, entry] of Object.entries(parsed.preferences)) {
    if (isPreferenceKey(key) && isPreferenceEntry(entry)) kept.push([key, { value: entry.value, updatedAt: entry.updatedAt, deviceId: entry.deviceId }]);
    else malformed.push(key);
  }
  const preferences = Object.fromEntries(kept);
  if (parsed.prev === undefined) return { document: { preferences }, malformed };
  if (!isStateLink(parsed.prev)) throw new InvalidDocumentError('prev is not a { sequence, hmac, chain } link to the parent state');
  const { sequence, hmac, chain } = parsed.prev;
  return { document: { preferences, prev: { sequence, hmac, chain } }, malformed };
}

function isStateLink(value: unknown): value is StateLink {
  return (
    isRecord(value) &&
    Number.isInteger(value.sequence) &&
    (value.sequence as number) >= 1 &&
    typeof value.hmac === 'string' &&
    typeof value.chain === 'string' &&
    /^[0-9a-f]{64}$/.test(value.chain)
  );
}

/** The longest preference key, in UTF-16 code units: keys are names, not data. */
export const MAX_PREFERENCE_KEY_LENGTH = 256;

export function isPreferenceKey(key: unknown): key is string {
  return typeof key === 'string' && key.length > 0 && key.length <= MAX_PREFERENCE_KEY_LENGTH;
}

function isPreferenceEntry(entry: unknown): entry is PreferenceEntry {
  return (
    isRecord(entry) &&
    (typeof entry.value === 'string' || entry.value === null) &&
    typeof entry.updatedAt === 'number' &&
    Number.isFinite(entry.updatedAt) &&
    typeof entry.deviceId === 'string'
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
