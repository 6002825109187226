import type { Database } from '../db/database';
import type { WalletHeader, WalletHistoryRepository, WalletVersionContent } from '../db/repositories/wallet-history.repository';

/**
 * Why it exists: undo. Every accepted state keeps its header, the most recent
 * ones their content, so a device can go back to a state from before a bad sync
 * by uploading its content as a new state. Nothing here ever rewrites history.
 */
export class WalletHistoryService {
  constructor(
    private readonly db: Database,
    private readonly history: WalletHistoryRepository,
    /** WALLET_VERSIONS_KEPT. */
    private readonly versionsKept: number,
  ) {}

  headers(accountId: number, sinceSequence: number, limit: number): Promise<WalletHeader[]> {
    return this.db.run((m) => this.history.list(m, accountId, sinceSequence, limit));
  }

  version(accountId: number, sequence: number): Promise<WalletVersionContent | null> {
    return this.db.run((m) => this.history.findVersion(m, accountId, sequence));
  }

  /**
   * Drops contents outside the window everywhere: only a restart with a smaller
   * WALLET_VERSIONS_KEPT leaves any (each write keeps its own account's window).
   */
  dropContentOutsideWindow(): Promise<number> {
    return this.db.run((m) => this.history.dropContentOutsideWindow(m, this.versionsKept));
  }
}
