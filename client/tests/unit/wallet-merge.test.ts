import { EMPTY_DOCUMENT, preferenceValues, withPreference, type PreferenceEntry, type WalletDocument } from '../../src/wallet-document';
import { mergeDocuments, type PreferenceResolver } from '../../src/wallet-merge';

const entry = (value: string | null, updatedAt: number, deviceId: string): PreferenceEntry => ({ value, updatedAt, deviceId });
const doc = (preference: PreferenceEntry | undefined): WalletDocument => ({ preferences: preference ? { key: preference } : {} });
const merged = (base?: PreferenceEntry, local?: PreferenceEntry, remote?: PreferenceEntry, resolve?: PreferenceResolver) =>
  mergeDocuments(doc(base), doc(local), doc(remote), resolve).preferences.key;

const BASE = entry('base', 100, 'phone');
// Local edits at 200, remote edits at 300: where both changed, the remote write is the later one.
const LOCAL = entry('local', 200, 'laptop');
const LOCAL_DELETED = entry(null, 200, 'laptop');
const REMOTE = entry('remote', 300, 'phone');
const REMOTE_DELETED = entry(null, 300, 'phone');

describe('the three-way merge of a preference', () => {
  // Every combination of unchanged / changed / deleted on each side, against a base that has the key.
  it.each<[string, string, string, PreferenceEntry, PreferenceEntry, PreferenceEntry]>([
    ['unchanged', 'unchanged', 'the base', BASE, BASE, BASE],
    ['unchanged', 'changed', 'remote', BASE, REMOTE, REMOTE],
    ['unchanged', 'deleted', 'the remote deletion', BASE, REMOTE_DELETED, REMOTE_DELETED],
    ['changed', 'unchanged', 'local', LOCAL, BASE, LOCAL],
    ['changed', 'changed', 'the later write (remote)', LOCAL, REMOTE, REMOTE],
    ['changed', 'deleted', 'the later write (the remote deletion)', LOCAL, REMOTE_DELETED, REMOTE_DELETED],
    ['deleted', 'unchanged', 'the local deletion', LOCAL_DELETED, BASE, LOCAL_DELETED],
    ['deleted', 'changed', 'the later write (remote)', LOCAL_DELETED, REMOTE, REMOTE],
    ['deleted', 'deleted', 'the later deletion (remote)', LOCAL_DELETED, REMOTE_DELETED, REMOTE_DELETED],
  ])('when local is %s and remote is %s, then the merge takes %s', (_local, _remote, _expected, local, remote, expected) => {
    expect(merged(BASE, local, remote)).toEqual(expected);
  });

  // The same combinations where the key is new since the base.
  it.each<[string, PreferenceEntry | undefined, PreferenceEntry | undefined, PreferenceEntry | undefined]>([
    ['neither side has it', undefined, undefined, undefined],
    ['only local added it', LOCAL, undefined, LOCAL],
    ['only remote added it', undefined, REMOTE, REMOTE],
    ['only local added it, as a deletion', LOCAL_DELETED, undefined, LOCAL_DELETED],
    ['both added the same entry', REMOTE, REMOTE, REMOTE],
    ['both added different values', LOCAL, REMOTE, REMOTE],
  ])('when the base lacks the key and %s, then the merge takes that entry (or none)', (_case, local, remote, expected) => {
    expect(merged(undefined, local, remote)).toEqual(expected);
  });

  // Both sides changed the key differently: the later write wins, and ties break the same way on every device.
  it.each<[string, PreferenceEntry, PreferenceEntry, PreferenceEntry]>([
    ['local wrote later', entry('local', 400, 'laptop'), entry('remote', 300, 'phone'), entry('local', 400, 'laptop')],
    ['remote wrote later', entry('local', 300, 'laptop'), entry('remote', 400, 'phone'), entry('remote', 400, 'phone')],
    ['a later deletion beats an earlier value', entry(null, 400, 'laptop'), entry('remote', 300, 'phone'), entry(null, 400, 'laptop')],
    ['a later value beats an earlier deletion', entry(null, 300, 'laptop'), entry('remote', 400, 'phone'), entry('remote', 400, 'phone')],
    ['a tie goes to the greater device id', entry('local', 300, 'laptop'), entry('remote', 300, 'phone'), entry('remote', 300, 'phone')],
    ['a tie from one device goes to the greater value', entry('apple', 300, 'phone'), entry('zebra', 300, 'phone'), entry('zebra', 300, 'phone')],
    ['a tie between a deletion and a value goes to the value', entry(null, 300, 'phone'), entry('remote', 300, 'phone'), entry('remote', 300, 'phone')],
    ['both deleted at different times', entry(null, 300, 'laptop'), entry(null, 400, 'phone'), entry(null, 400, 'phone')],
  ])('when both changed and %s, then that entry wins whichever device merges', (_case, local, remote, expected) => {
    expect(merged(BASE, local, remote)).toEqual(expected);
    expect(merged(BASE, remote, local)).toEqual(expected);
  });

  it('when the app supplies a resolver, then it decides keys both sides changed, and only those', () => {
    const calls: string[] = [];
    const concatenate: PreferenceResolver = ({ key, local, remote }) => {
      calls.push(key);
      return entry(`${local?.value}+${remote?.value}`, Math.max(local!.updatedAt, remote!.updatedAt), 'resolver');
    };
    const base = { preferences: { both: BASE, onlyRemote: BASE } };
    const local = { preferences: { both: LOCAL, onlyRemote: BASE } };
    const remote = { preferences: { both: REMOTE, onlyRemote: REMOTE } };
    const result = mergeDocuments(base, local, remote, concatenate);
    expect(calls).toEqual(['both']);
    expect(preferenceValues(result)).toEqual({ both: 'local+remote', onlyRemote: 'remote' });
  });

  it('when a resolver answers undefined, then the key is dropped', () => {
    expect(merged(BASE, LOCAL, REMOTE, () => undefined)).toBeUndefined();
  });

  it('when keys are merged, then each is decided on its own (the walkthrough\'s divergent edits)', () => {
    const base = { preferences: { animal: entry('horse', 100, 'c2'), car: entry('Audi', 90, 'c1') } };
    const c1 = withPreference(base, 'car', 'Toyota', 'c1', 200).document;
    const c2 = withPreference(base, 'animal', 'beaver', 'c2', 150).document;
    expect(preferenceValues(mergeDocuments(base, c1, c2))).toEqual({ animal: 'beaver', car: 'Toyota' });
    expect(preferenceValues(mergeDocuments(base, c2, c1))).toEqual({ animal: 'beaver', car: 'Toyota' });
  });
});

describe('editing a preference', () => {
  it('when this device\'s clock is behind the entry it overwrites, then the new entry is still later', () => {
    const seen = { preferences: { animal: entry('horse', 5_000, 'fast-clock') } };
    const { entry: written } = withPreference(seen, 'animal', 'beaver', 'slow-clock', 1_000);
    expect(written).toEqual(entry('beaver', 5_001, 'slow-clock'));
    expect(merged(entry('horse', 5_000, 'fast-clock'), written, entry('horse', 5_000, 'fast-clock'))).toEqual(written);
  });

  it('when a preference is deleted, then it stays as a tombstone and leaves the values', () => {
    const { document } = withPreference(withPreference(EMPTY_DOCUMENT, 'car', 'Audi', 'c1', 10).document, 'car', null, 'c1', 20);
    expect(document.preferences.car).toEqual(entry(null, 20, 'c1'));
    expect(preferenceValues(document)).toEqual({});
  });
});
