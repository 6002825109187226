import { entryOf, isSameEntry, type PreferenceEntry, type WalletDocument } from './wallet-document';

/** The three versions of one preference that a merge compares. undefined: the key does not exist there. */
export interface PreferenceSides {
  key: string;
  /** In the merge base: the last state this device synced. */
  base: PreferenceEntry | undefined;
  local: PreferenceEntry | undefined;
  remote: PreferenceEntry | undefined;
}

/**
 * Decides a preference that both sides changed differently. It must be
 * deterministic: whichever device merges, the same inputs must give the same
 * answer, or the devices never converge. Return undefined to drop the key.
 */
export type PreferenceResolver = (sides: PreferenceSides) => PreferenceEntry | undefined;

/**
 * The default resolver: the later write wins, deletions included. On equal
 * timestamps the greater device id wins, then the greater value (a deletion
 * loses to any value): an order every device computes the same way.
 */
export const laterWriteWins: PreferenceResolver = ({ local, remote }) => {
  if (!local || !remote) return local ?? remote;
  return compareEntries(local, remote) >= 0 ? local : remote;
};

export function compareEntries(a: PreferenceEntry, b: PreferenceEntry): number {
  if (a.updatedAt !== b.updatedAt) return a.updatedAt - b.updatedAt;
  if (a.deviceId !== b.deviceId) return a.deviceId < b.deviceId ? -1 : 1;
  if (a.value === b.value) return 0;
  if (a.value === null || b.value === null) return a.value === null ? -1 : 1;
  return a.value < b.value ? -1 : 1;
}

/**
 * Three-way merge of preferences against the merge base: a key only one side
 * changed takes that side (a deletion is a change); a key both sides changed the
 * same way is kept; a key both changed differently goes to the resolver.
 */
export function mergeDocuments(
  base: WalletDocument,
  local: WalletDocument,
  remote: WalletDocument,
  resolve: PreferenceResolver = laterWriteWins,
): WalletDocument {
  const keys = new Set([...Object.keys(base.preferences), ...Object.keys(local.preferences), ...Object.keys(remote.preferences)]);
  const merged: Array<[string, PreferenceEntry]> = [];
  for (const key of [...keys].sort()) {
    const sides: PreferenceSides = { key, base: entryOf(base, key), local: entryOf(local, key), remote: entryOf(remote, key) };
    const entry = mergePreference(sides, resolve);
    if (entry) merged.push([key, entry]);
  }
  return { preferences: Object.fromEntries(merged) };
}

function mergePreference(sides: PreferenceSides, resolve: PreferenceResolver): PreferenceEntry | undefined {
  const { base, local, remote } = sides;
  const localChanged = !isSameEntry(base, local);
  const remoteChanged = !isSameEntry(base, remote);
  if (!remoteChanged) return local;
  if (!localChanged || isSameEntry(local, remote)) return remote;
  return resolve(sides);
}
