import type { WalletHeader, WalletVersionContent } from '../db/repositories/wallet-history.repository';
import type { ServiceDeps } from './types';

/**
 * Why it exists: undo. Every accepted state keeps its header, the most recent
 * ones their content, so a device can go back to a state from before a bad sync
 * by uploading its content as a new state. Nothing here ever rewrites history.
 */
export class WalletHistoryService {
  constructor(private readonly deps: ServiceDeps) {}

  headers(accountId: number, sinceSequence: number, limit: number): Promise<WalletHeader[]> {
    return this.deps.db.run((m) => this.deps.walletHistory.list(m, accountId, sinceSequence, limit));
  }

  version(accountId: number, sequence: number): Promise<WalletVersionContent | null> {
    return this.deps.db.run((m) => this.deps.walletHistory.findVersion(m, accountId, sequence));
  }

  /**
   * Drops contents outside the window everywhere: only a restart with a smaller
   * WALLET_VERSIONS_KEPT leaves any (each write keeps its own account's window).
   */
  dropContentOutsideWindow(): Promise<number> {
    return this.deps.db.run((m) => this.deps.walletHistory.dropContentOutsideWindow(m, this.deps.config.walletVersionsKept));
  }
}
