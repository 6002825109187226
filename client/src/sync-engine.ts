import { assertKey, assertRootPassword, describeType, invalidArgument } from './client-arguments';
import { ClientErrorCode, ServerErrorCode, WalletSyncError, withSecondFactor, type SecondFactorSource } from './client.errors';
import { utf8 } from './encoding';
import type { DeviceState } from './device-state.store';
import { encodeKeys, type DeviceSession, type StoredKeys } from './device-session';
import { HISTORY_PAGE, type RemoteWalletState, type WalletStateHeader } from './graphql/sync-server.api';
import { ROOT_CHAIN, chainOf, extendChain, hasSeen, rememberStates, type ChainMark, type Divergence, type StateLink } from './history-chain';
import { openWalletState, salvageWalletState, sealWalletState, type SealedWalletState } from './wallet-cipher';
import { EMPTY_DOCUMENT, entryOf, isSameDocument, isSameEntry, withPreference, type PreferenceEntry, type WalletDocument } from './wallet-document';
import { keyParamsOf, newClientSaltSeed, type KeyParams } from './wallet-keys';
import { mergeDocuments, type PreferenceResolver } from './wallet-merge';

/** A wallet state as the server holds it, for display and logs. */
export type WalletStateInfo = RemoteWalletState;

/**
 * A preference this device had changed and not yet uploaded, which another
 * device's write beat in a merge: the app should tell the user (or set it again).
 */
export interface LostEdit {
  key: string;
  /** This device's unsynced value; null: its unsynced deletion. */
  localValue: string | null;
  /** The value the preference holds after the merge; null: deleted. */
  winningValue: string | null;
  /** The device whose write won; null when the resolver dropped the key. */
  winningDeviceId: string | null;
}

export type PushResult =
  /** The upload landed: the server now holds this device's document at `walletState.sequence`. */
  | { kind: 'success'; walletState: WalletStateInfo }
  /**
   * A newer state was there first (null: the server has no wallet any more): it was merged into the local document;
   * push again to upload the merge. `divergence`: that state did not extend the history this device saw.
   */
  | { kind: 'conflict'; latest: WalletStateInfo | null; lostEdits: LostEdit[]; divergence: Divergence | null };

export interface PullResult {
  /** The server's wallet state, null when it has none yet. */
  walletState: WalletStateInfo | null;
  /** Local, unsynced edits that lost to another device's in the merge. */
  lostEdits: LostEdit[];
  /** The server's history diverged from what this device saw: merged onto it; sync to upload the merge. */
  divergence: Divergence | null;
}

export interface SyncOptions {
  /**
   * When the server's wallet decrypts but is not a valid document
   * (WALLET_DOCUMENT_INVALID), keep its well-formed preferences, drop the
   * malformed ones, and upload the repaired state. Default false: sync throws.
   */
  repair?: boolean;
}

export interface SyncResult {
  /** The sequence this device now holds. */
  sequence: number;
  /** Whether it took in a newer wallet state from the server. */
  pulled: boolean;
  /** Whether this sync uploaded a new wallet state. */
  pushed: boolean;
  /** How many upload conflicts (newer states that arrived while syncing) it merged before its upload landed. */
  conflicts: number;
  /** Local, unsynced edits that lost to another device's in a merge (one entry per key, the last merge's). */
  lostEdits: LostEdit[];
  /** With `repair`: the malformed preferences dropped from the server's wallet. */
  repairedKeys: string[];
  /**
   * The server's history diverged from what this device saw (restored from an
   * old backup, or a different history): this device kept its data, merged it
   * onto the server's state and uploaded the result. Null when it did not.
   */
  divergence: Divergence | null;
}

/** What taking in one downloaded wallet state did. */
interface Adoption {
  state: DeviceState;
  lostEdits: LostEdit[];
  /** Malformed preferences dropped (repair only); the result must be uploaded even if nothing else changed. */
  repairedKeys: string[];
  divergence: Divergence | null;
}

export interface SyncEngineDependencies {
  session: DeviceSession;
  /** Decides a preference both sides changed differently. */
  resolve: PreferenceResolver;
  /** How many newer states sync() and changePassword() merge before giving up. */
  maxConflictRetries: number;
  /** The clock that stamps preference edits (ms since the epoch). */
  now: () => number;
}

/**
 * Why it exists: the rules of the wallet's content. It refuses downloads that
 * do not verify or that go back in sequence, checks each against the history
 * chain this device saw (healing a server that diverged instead of refusing
 * it), merges against the last state this device synced, and retries an
 * upload that lost a race until it lands. It changes the device state only
 * through the session, and its public operations hold the session's lock.
 */
export class SyncEngine {
  private readonly session: DeviceSession;

  constructor(private readonly deps: SyncEngineDependencies) {
    this.session = deps.session;
  }

  private get state(): DeviceState {
    return this.session.state;
  }

  setPreference(key: string, value: string): Promise<PreferenceEntry> {
    assertKey(key);
    if (typeof value !== 'string') {
      throw invalidArgument(`The value of preference ${JSON.stringify(key)} must be a string (got ${describeType(value)}); serialize it first, e.g. with JSON.stringify`);
    }
    return this.edit(key, value);
  }

  deletePreference(key: string): Promise<PreferenceEntry> {
    assertKey(key);
    return this.edit(key, null);
  }

  pull(): Promise<PullResult> {
    return this.session.exclusive(async () => {
      const keys = this.session.keys();
      const remote = await this.session.api.walletState();
      const adopted = await this.adopt(this.state, remote, keys);
      await this.session.commit(adopted.state);
      return { walletState: remote, lostEdits: adopted.lostEdits, divergence: adopted.divergence };
    });
  }

  push(): Promise<PushResult> {
    return this.session.exclusive(async () => {
      const keys = this.session.keys();
      const { sealed, chain } = await this.seal(keys);
      const outcome = await this.session.api.updateWalletState(sealed);
      if (outcome.kind === 'success') {
        await this.session.commit(withBase(this.state, sealed, chain, this.state.local));
        return { kind: 'success', walletState: outcome.walletState };
      }
      const adopted = await this.adopt(this.state, outcome.latest, keys);
      await this.session.commit(adopted.state);
      return { kind: 'conflict', latest: outcome.latest, lostEdits: adopted.lostEdits, divergence: adopted.divergence };
    });
  }

  sync(options: SyncOptions = {}): Promise<SyncResult> {
    return this.session.exclusive(() => this.syncHeld(options));
  }

  /** sync() for a caller that already holds the session's lock. */
  async syncHeld(options: SyncOptions): Promise<SyncResult> {
    const keys = this.session.keys();
    const api = this.session.api;
    const startedAt = this.state.base?.sequence ?? 0;
    const lostEdits = new Map<string, LostEdit>();
    const repairedKeys = new Set<string>();
    let divergence: Divergence | null = null;
    let remote = await api.walletState();
    for (let conflicts = 0; ; conflicts += 1) {
      const adopted = await this.adopt(this.state, remote, keys, options.repair);
      await this.session.commit(adopted.state);
      divergence ??= adopted.divergence;
      for (const lost of adopted.lostEdits) lostEdits.set(lost.key, lost);
      for (const key of adopted.repairedKeys) repairedKeys.add(key);
      // A repaired state must replace the server's even when the merge changed nothing locally.
      const mustUpload = adopted.repairedKeys.length > 0;
      const base = this.state.base;
      const pulled = (base?.sequence ?? 0) > startedAt;
      const report = { lostEdits: [...lostEdits.values()], repairedKeys: [...repairedKeys].sort(), divergence };
      if (base && !mustUpload && isSameDocument(base.document, this.state.local)) return { sequence: base.sequence, pulled, pushed: false, conflicts, ...report };
      if (conflicts >= this.deps.maxConflictRetries) throw retriesExhausted('sync', conflicts);
      const { sealed, chain } = await this.seal(keys);
      const outcome = await api.updateWalletState(sealed);
      if (outcome.kind === 'success') {
        await this.session.commit(withBase(this.state, sealed, chain, this.state.local));
        return { sequence: sealed.sequence, pulled, pushed: true, conflicts, ...report };
      }
      // The conflict carries the freshest state there is: retry on it at once. After that, wait, and since the
      // state in hand goes stale while waiting, fetch the current one before merging again (retrying on a state
      // that was already old when the wait ended only loses the race once more).
      remote = outcome.latest;
      if (conflicts > 0) {
        await backOff(conflicts);
        remote = await api.walletState();
      }
    }
  }

  /**
   * A password change is an upload under new keys: the wallet is merged up to
   * the server's latest state under the old keys, sealed under the new ones and
   * swapped in one request, retrying on conflicts like sync().
   */
  changePassword(currentRootPassword: string, newRootPassword: string, options: { keyParams?: Partial<KeyParams>; secondFactor?: SecondFactorSource } = {}): Promise<void> {
    assertRootPassword(currentRootPassword, 'currentRootPassword');
    assertRootPassword(newRootPassword, 'newRootPassword');
    const samePassword = currentRootPassword === newRootPassword;
    if (samePassword && options.keyParams === undefined) throw invalidArgument('The new root password is the current one');
    // Checked before anything is derived or sent; completed with the account's own once the session is known.
    if (options.keyParams !== undefined) keyParamsOf(options.keyParams);
    const session = this.session;
    let secondFactor = options.secondFactor;
    return session.exclusive(async () => {
      session.keys();
      const account = this.state.account!;
      const keyParams = keyParamsOf(options.keyParams, account.keyParams);
      const oldKeys = await session.rootKeys(currentRootPassword);
      const clientSaltSeed = newClientSaltSeed();
      const newKeys = await session.derive(newRootPassword, account.email, clientSaltSeed, keyParams);
      let remote = await session.api.walletState();
      for (let conflicts = 0; ; conflicts += 1) {
        await session.commit((await this.adopt(this.state, remote, oldKeys)).state);
        if (conflicts > this.deps.maxConflictRetries) throw retriesExhausted('changePassword', conflicts);
        // The server takes a wallet exactly when it holds one: at the next sequence, under the new keys.
        const next = this.state.base ? await this.seal(newKeys) : null;
        const wallet = next?.sealed ?? null;
        const outcome = await withSecondFactor(secondFactor, (factor) => {
          // Asked once: a conflict's retry sends the same factor.
          if (factor) secondFactor = factor;
          return session.api.changePassword({
            email: account.email,
            oldPassword: oldKeys.loginPassword,
            newPassword: newKeys.loginPassword,
            clientSaltSeed,
            wallet,
            // Always sent, so the server records exactly what the new keys were derived with.
            keyParams,
            secondFactor: factor,
          });
        });
        if (outcome.kind === 'conflict') {
          remote = outcome.latest;
          continue;
        }
        const changed: DeviceState = { ...this.state, account: { ...account, clientSaltSeed, keyParams }, keys: encodeKeys(newKeys), authToken: null };
        await session.commit(next ? withBase(changed, next.sealed, next.chain, this.state.local) : changed);
        // The change revoked every token, this device's too, and a new login of an account with a second factor needs
        // one again: a code of another step (each works once), a recovery code or the passkey. A callback is asked for
        // it; a factor given as a value was used up by the change, so the login throws SecondFactorRequiredError,
        // whose retry(factor) finishes it (the password has changed by then).
        const source = options.secondFactor;
        await session.logInWithFactor(newKeys.loginPassword, {}, { secondFactor: typeof source === 'function' ? source : undefined });
        return;
      }
    });
  }

  /**
   * Every header after `since` up to and including `until`, in order, or null
   * when the server leaves any out: a gap is reported, never bridged.
   */
  async headers(since: number, until: number): Promise<WalletStateHeader[] | null> {
    const headers: WalletStateHeader[] = [];
    let last = since;
    while (last < until) {
      const page = await this.session.api.walletHistory(last, Math.min(HISTORY_PAGE, until - last));
      if (page.length === 0) return null;
      for (const header of page) {
        if (header.sequence !== last + 1) return null;
        headers.push(header);
        last = header.sequence;
        if (last === until) break;
      }
    }
    return headers;
  }

  private edit(key: string, value: string | null): Promise<PreferenceEntry> {
    return this.session.exclusive(async () => {
      const { document, entry } = withPreference(this.state.local, key, value, this.state.deviceId, this.deps.now());
      await this.session.commit({ ...this.state, local: document });
      return entry;
    });
  }

  /**
   * The device state after taking in a downloaded wallet state: verified,
   * decrypted, checked against the history this device saw, merged into the
   * local document, and made the merge base. Every check runs before anything
   * changes, so a rejected state leaves the device exactly as it was.
   *
   * A server whose history diverged from what this device saw (it went back,
   * or shows another history) is not refused: the device keeps its data, merges
   * its latest content onto the server's state (so the next upload heals the
   * server) and says so in `divergence`.
   */
  private async adopt(state: DeviceState, remote: RemoteWalletState | null, keys: StoredKeys, repair = false): Promise<Adoption> {
    const base = state.base;
    const unchanged: Adoption = { state, lostEdits: [], repairedKeys: [], divergence: null };
    if (!remote) {
      if (!base) return unchanged;
      // No wallet at all: a restore from before the first upload. The empty history is an ancestor of every other.
      const divergence: Divergence = { kind: 'rollback', reason: 'sequence-went-back', seen: stateOf(base), server: null };
      return { state: { ...state, base: null }, lostEdits: [], repairedKeys: [], divergence };
    }
    if (base && remote.sequence === base.sequence && remote.hmac === base.hmac) return unchanged;
    let document: WalletDocument;
    let repairedKeys: string[] = [];
    try {
      document = await openWalletState(remote, keys);
    } catch (error) {
      if (!(repair && error instanceof WalletSyncError && error.code === ClientErrorCode.DocumentInvalid)) throw error;
      ({ document, malformed: repairedKeys } = await salvageWalletState(remote, keys));
      // Not a malformed preference but no document at all: nothing to salvage, the local document replaces it.
      if (repairedKeys.length === 0) repairedKeys = ['(document)'];
    }
    const seen = state.seen ?? [];
    let marks: ChainMark[];
    let divergence: Divergence | null = null;
    const descent = base ? await this.descent(base, remote, document) : null;
    if (descent && 'chain' in descent) {
      marks = descent.marks;
    } else {
      // First use (a device that never synced trusts what it finds), or a divergence: the state's chain is the one
      // its own document names, written by a device holding this account's keys.
      const chain = await this.claimedChain(remote, document);
      marks = [{ sequence: remote.sequence, chain }];
      if (descent) divergence = { kind: hasSeen(seen, chain) ? 'rollback' : 'fork', reason: descent.reason, seen: stateOf(base!), server: stateOf(remote) };
    }
    // After a rollback the server's state is an ancestor of the local document, which then simply wins; after a fork
    // nothing is known in common, so every preference that differs goes to the resolver (the later write by default).
    const mergeBase = divergence ? (divergence.kind === 'rollback' ? document : EMPTY_DOCUMENT) : (base?.document ?? EMPTY_DOCUMENT);
    const local = mergeDocuments(mergeBase, state.local, document, this.deps.resolve);
    const chain = marks[marks.length - 1].chain;
    const next: DeviceState = {
      ...state,
      base: { sequence: remote.sequence, hmac: remote.hmac, chain, document },
      local,
      seen: rememberStates(seen, marks),
    };
    return { state: next, lostEdits: lostEdits(base?.document ?? EMPTY_DOCUMENT, state.local, local), repairedKeys, divergence };
  }

  /**
   * Whether `remote`, newer or not, extends the history this device synced up
   * to `base`: the headers in between, folded into the chain from the base's,
   * must give the chain the new document names as its parent. Answers the
   * (sequence, chain) of every state on the way, or why not.
   */
  private async descent(
    base: NonNullable<DeviceState['base']>,
    remote: RemoteWalletState,
    document: WalletDocument,
  ): Promise<{ chain: string; marks: ChainMark[] } | { reason: Divergence['reason'] }> {
    if (remote.sequence <= base.sequence) return { reason: 'sequence-went-back' };
    const baseChain = base.chain ?? (await this.chainFromServer(base));
    if (baseChain === null) return { reason: 'history-incomplete' };
    const between = remote.sequence - 1 > base.sequence ? await this.headers(base.sequence, remote.sequence - 1) : [];
    if (between === null) return { reason: 'history-incomplete' };
    const marks: ChainMark[] = [];
    let chain = baseChain;
    for (const header of between) {
      chain = await chainOf(chain, header.hmac);
      marks.push({ sequence: header.sequence, chain });
    }
    // A document from a client before the chain names no parent: nothing to compare, the headers are all there is.
    if (document.prev && (document.prev.sequence !== remote.sequence - 1 || document.prev.chain !== chain)) return { reason: 'chain-mismatch' };
    chain = await chainOf(chain, remote.hmac);
    marks.push({ sequence: remote.sequence, chain });
    return { chain, marks };
  }

  /** The chain a downloaded state claims through its own `prev`. */
  private async claimedChain(remote: RemoteWalletState, document: WalletDocument): Promise<string> {
    if (document.prev) return chainOf(document.prev.chain, remote.hmac);
    if (remote.sequence === 1) return chainOf(ROOT_CHAIN, remote.hmac);
    // Written by a client before the chain: the server's headers from the first state are the only account of it.
    return (await this.chainFromServer(remote)) ?? chainOf(ROOT_CHAIN, remote.hmac);
  }

  /**
   * The chain of `state` computed from the server's headers since the first
   * state, for a state known from before the chain existed; null when the
   * headers are incomplete or do not end in `state`.
   */
  private async chainFromServer(state: { sequence: number; hmac: string }): Promise<string | null> {
    const headers = await this.headers(0, state.sequence);
    if (!headers || headers[headers.length - 1].hmac !== state.hmac) return null;
    return extendChain(ROOT_CHAIN, headers.map((header) => header.hmac));
  }

  /**
   * The local document sealed as the state after the merge base, naming the
   * base as its parent, with the chain the upload will have. A base from a
   * state file older than the chain gets its chain from the server's headers
   * first; when they are incomplete, the document names no parent, as before the chain.
   */
  private async seal(keys: StoredKeys): Promise<{ sealed: SealedWalletState; chain: string }> {
    const base = this.state.base;
    let prev: StateLink | undefined;
    if (base) {
      const chain = base.chain ?? (await this.chainFromServer(base));
      if (chain !== null) prev = { sequence: base.sequence, hmac: base.hmac, chain };
    }
    const document: WalletDocument = prev ? { preferences: this.state.local.preferences, prev } : { preferences: this.state.local.preferences };
    const sealed = await sealWalletState(document, (base?.sequence ?? 0) + 1, keys);
    await this.assertFits(sealed);
    return { sealed, chain: await chainOf(prev?.chain ?? ROOT_CHAIN, sealed.hmac) };
  }

  /**
   * Refuses an upload over the server's limit before sending it: the server
   * would refuse it too, but a body that large can reach it as a reset
   * connection (NETWORK_ERROR, which apps retry forever) rather than as its
   * PAYLOAD_TOO_LARGE, and the user needs to know which preference to shrink.
   */
  private async assertFits(sealed: SealedWalletState): Promise<void> {
    const size = utf8(sealed.encryptedWallet).length;
    const limit = await this.session.api.maxWalletBytes();
    if (size <= limit) return;
    const [key, bytes] = Object.entries(this.state.local.preferences)
      .map(([name, entry]): [string, number] => [name, utf8(name).length + utf8(entry.value ?? '').length])
      .reduce((largest, candidate) => (candidate[1] > largest[1] ? candidate : largest), ['', 0]);
    const over = `The wallet would be ${size} bytes encrypted, over this server's limit of ${limit} bytes`;
    throw new WalletSyncError(
      ServerErrorCode.PayloadTooLarge,
      key
        ? `${over}; its largest preference is ${JSON.stringify(key)} (${bytes} bytes): delete or shorten it, then sync. Nothing was uploaded`
        : `${over}, with no preferences in it. Nothing was uploaded`,
      { key: key || undefined },
    );
  }
}

/** The state after an upload of `document` landed as `sealed`: it is the merge base, and seen. */
function withBase(state: DeviceState, sealed: SealedWalletState, chain: string, document: WalletDocument): DeviceState {
  return {
    ...state,
    base: { sequence: sealed.sequence, hmac: sealed.hmac, chain, document },
    seen: rememberStates(state.seen ?? [], [{ sequence: sealed.sequence, chain }]),
  };
}

function stateOf(state: { sequence: number; hmac: string }): { sequence: number; hmac: string } {
  return { sequence: state.sequence, hmac: state.hmac };
}

/**
 * A random pause after the n-th lost upload race (up to 10·2^n ms, at most
 * 250 ms): two devices that keep syncing in step would otherwise keep colliding
 * until one runs out of retries.
 */
function backOff(conflicts: number): Promise<void> {
  const ceiling = Math.min(250, 10 * 2 ** conflicts);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/** The keys this device had changed since the merge base whose value the merge replaced. */
function lostEdits(base: WalletDocument, local: WalletDocument, merged: WalletDocument): LostEdit[] {
  const lost: LostEdit[] = [];
  for (const key of Object.keys(local.preferences).sort()) {
    const mine = entryOf(local, key)!;
    if (isSameEntry(entryOf(base, key), mine)) continue;
    const winner = entryOf(merged, key);
    if ((winner?.value ?? null) === mine.value) continue;
    lost.push({ key, localValue: mine.value, winningValue: winner?.value ?? null, winningDeviceId: winner?.deviceId ?? null });
  }
  return lost;
}

function retriesExhausted(operation: string, attempts: number): WalletSyncError {
  return new WalletSyncError(
    ClientErrorCode.ConflictRetriesExhausted,
    `${operation} met a newer wallet state ${attempts} times in a row and gave up; try again`,
  );
}
