import type { EntityManager } from 'typeorm';
import type { ServiceDeps, WalletStateData } from './types';

/** Who wrote a state: the device of the token (null for changePassword) and the client's address. */
export interface StateWriter {
  deviceId: string | null;
  ip?: string;
}

/**
 * The one place a wallet state is accepted, used by upload and changePassword
 * alike, inside the caller's transaction. The compare-and-set decides; only when
 * it landed are the state's header (with its content while it is among the
 * WALLET_VERSIONS_KEPT most recent), the drop of the content that fell out of
 * that window, and the WALLET_UPDATED event written. So every acknowledged state
 * has its header, and a state that lost its race has none.
 */
export async function commitWalletState(
  deps: Pick<ServiceDeps, 'wallets' | 'walletHistory' | 'activity' | 'config'>,
  m: EntityManager,
  accountId: number,
  state: WalletStateData,
  writer: StateWriter,
): Promise<boolean> {
  if (!(await deps.wallets.compareAndSet(m, accountId, state))) return false;
  const kept = deps.config.walletVersionsKept;
  await deps.walletHistory.insert(m, accountId, {
    sequence: state.sequence,
    hmac: state.hmac,
    deviceId: writer.deviceId,
    updatedAt: state.updatedAt,
    bytes: Buffer.byteLength(state.encryptedWallet, 'utf8'),
    // With 0 kept, the current state's content is read from the wallet itself.
    encryptedWallet: kept > 0 ? state.encryptedWallet : null,
  });
  const outOfWindow = state.sequence - Math.max(kept, 1);
  if (outOfWindow >= 1) await deps.walletHistory.dropContentOf(m, accountId, outOfWindow);
  await deps.activity.recordIn(m, accountId, 'WALLET_UPDATED', { deviceId: writer.deviceId, sequence: state.sequence, ip: writer.ip });
  return true;
}
