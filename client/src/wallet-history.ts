import { describeType, invalidArgument } from './client-arguments';
import { ClientErrorCode, WalletSyncError } from './client.errors';
import type { DeviceSession } from './device-session';
import { HISTORY_PAGE, type AccountEvent, type WalletStateHeader } from './graphql/sync-server.api';
import type { Divergence } from './history-chain';
import type { SyncEngine } from './sync-engine';
import { openWalletState } from './wallet-cipher';
import { entryOf, withPreference, type WalletDocument } from './wallet-document';

/** One wallet state in history(): what the server keeps of every state. */
export type WalletHistoryEntry = WalletStateHeader;

/** An event of the account's security log (activity()). */
export type AccountActivityEvent = AccountEvent;

export interface RestoreResult {
  /** The sequence whose content was restored. */
  restoredFrom: number;
  /** The new state that holds it (the current one when nothing differed). */
  sequence: number;
  /** The preferences the restore changed back (set, or deleted when the version did not have them). */
  changedKeys: string[];
  /** A divergence one of the syncs around the restore found and healed. */
  divergence: Divergence | null;
}

export interface WalletHistoryDependencies {
  session: DeviceSession;
  engine: SyncEngine;
  /** The clock that stamps the preferences a restore sets back. */
  now: () => number;
}

/**
 * Why it exists: what the server remembers of the account, read back. The
 * headers of past wallet states and the security log, and undo, which never
 * rewrites the server's history: a restore is new edits on top of the latest
 * state, which every device takes in like any other change.
 */
export class WalletHistory {
  constructor(private readonly deps: WalletHistoryDependencies) {}

  history(options: { limit?: number } = {}): Promise<WalletHistoryEntry[]> {
    const limit = options.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_PAGE) throw invalidArgument(`limit must be an integer from 1 to ${HISTORY_PAGE} (got ${describeType(limit)})`);
    const { session } = this.deps;
    return session.exclusive(async () => {
      session.keys();
      // Start a little before the sequence this device holds; a server that went back below it is read from the start.
      let since = Math.max(0, (session.state.base?.sequence ?? 0) - limit);
      let headers = await this.allHeadersAfter(since);
      if (headers.length === 0 && since > 0) headers = await this.allHeadersAfter((since = 0));
      return headers.slice(-limit).reverse();
    });
  }

  restore(sequence: number): Promise<RestoreResult> {
    if (!Number.isInteger(sequence) || sequence < 1) throw invalidArgument(`sequence must be a positive integer (got ${describeType(sequence)})`);
    const { session, engine } = this.deps;
    return session.exclusive(async () => {
      const keys = session.keys();
      const before = await engine.syncHeld({});
      const current = before.sequence;
      if (sequence > current) throw versionNotKept(sequence, `the wallet's latest sequence is ${current}`);
      const since = (await engine.headers(sequence - 1, current)) ?? [];
      if (since.slice(1).some((header) => header.deviceId === null)) {
        throw new WalletSyncError(
          ClientErrorCode.VersionUnderEarlierPassword,
          `Sequence ${sequence} was encrypted under an earlier password (the password was changed since): it cannot be restored`,
        );
      }
      const version = await session.api.walletVersion(sequence);
      if (!version) throw versionNotKept(sequence, 'the server keeps only the content of the most recent states');
      const document = await openWalletState(version, keys);
      let local = session.state.local;
      const changedKeys: string[] = [];
      const keysOf = (doc: WalletDocument) => Object.keys(doc.preferences);
      for (const key of [...new Set([...keysOf(local), ...keysOf(document)])].sort()) {
        const wanted = entryOf(document, key)?.value ?? null;
        if ((entryOf(local, key)?.value ?? null) === wanted) continue;
        local = withPreference(local, key, wanted, session.state.deviceId, this.deps.now()).document;
        changedKeys.push(key);
      }
      if (changedKeys.length === 0) return { restoredFrom: sequence, sequence: current, changedKeys, divergence: before.divergence };
      await session.commit({ ...session.state, local });
      const after = await engine.syncHeld({});
      return { restoredFrom: sequence, sequence: after.sequence, changedKeys, divergence: before.divergence ?? after.divergence };
    });
  }

  activity(options: { limit?: number; before?: string } = {}): Promise<AccountActivityEvent[]> {
    const { session } = this.deps;
    return session.exclusive(() => {
      session.keys();
      return session.api.accountActivity(options.before ?? null, options.limit ?? 50);
    });
  }

  /**
   * Every header the server holds after `since`, page by page. Each header must
   * come after the one before it: a server that answers the same page again (or
   * goes back) would otherwise keep this loop asking forever.
   */
  private async allHeadersAfter(since: number): Promise<WalletStateHeader[]> {
    const headers: WalletStateHeader[] = [];
    for (let last = since; ; ) {
      const page = await this.deps.session.api.walletHistory(last, HISTORY_PAGE);
      if (page.length === 0) return headers;
      for (const header of page) {
        if (!(header.sequence > last)) {
          throw new WalletSyncError(
            ClientErrorCode.HistoryInvalid,
            `The server's wallet history does not advance: asked for the states after sequence ${last}, it answered sequence ${header.sequence}; check the server URL`,
          );
        }
        headers.push(header);
        last = header.sequence;
      }
    }
  }
}

function versionNotKept(sequence: number, why: string): WalletSyncError {
  return new WalletSyncError(ClientErrorCode.VersionNotKept, `The server does not keep the content of sequence ${sequence} (${why}): it cannot be restored`);
}
