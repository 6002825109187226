import type { EntityManager } from 'typeorm';
import type { WalletHistoryRepository } from '../db/repositories/wallet-history.repository';
import type { WalletRepository } from '../db/repositories/wallet.repository';
import type { ActivityLog } from './activity.service';
import type { WalletState } from './wallet-state';

/** Who wrote a state: the device of the token (null for changePassword) and the client's address. */
export interface StateWriter {
  deviceId: string | null;
  ip?: string;
}

export interface WalletCommitDeps {
  wallets: WalletRepository;
  history: WalletHistoryRepository;
  activity: ActivityLog;
  /** WALLET_VERSIONS_KEPT. */
  versionsKept: number;
}

/**
 * Why it exists: the one place a wallet state is accepted, used by upload and
 * changePassword alike, inside the caller's transaction. The compare-and-set
 * decides; only when it landed are the state's header (with its content while
 * it is among the WALLET_VERSIONS_KEPT most recent), the drop of the content
 * that fell out of that window, and the WALLET_UPDATED event written. So every
 * acknowledged state has its header, and a state that lost its race has none.
 */
export class WalletCommit {
  constructor(private readonly deps: WalletCommitDeps) {}

  /** True when `state` is now the account's wallet. */
  async commit(m: EntityManager, accountId: number, state: WalletState, writer: StateWriter): Promise<boolean> {
    const { wallets, history, activity, versionsKept } = this.deps;
    if (!(await wallets.compareAndSet(m, accountId, state))) return false;
    await history.insert(m, accountId, {
      sequence: state.sequence,
      hmac: state.hmac,
      deviceId: writer.deviceId,
      updatedAt: state.updatedAt,
      bytes: Buffer.byteLength(state.encryptedWallet, 'utf8'),
      // With 0 kept, the current state's content is read from the wallet itself.
      encryptedWallet: versionsKept > 0 ? state.encryptedWallet : null,
    });
    // Each write moves the window by one state, so exactly one content leaves it.
    const leaving = state.sequence - Math.max(versionsKept, 1);
    if (leaving >= 1) await history.dropContentOf(m, accountId, leaving);
    await activity.recordIn(m, { accountId, kind: 'WALLET_UPDATED', deviceId: writer.deviceId, sequence: state.sequence, ip: writer.ip });
    return true;
  }
}
