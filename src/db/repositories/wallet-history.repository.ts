import type { EntityManager } from 'typeorm';
import type { WalletRow } from '../entities/wallet.entity';
import type { WalletVersionRow } from '../entities/wallet-version.entity';
import { execute, hydrate, toDatabase } from './statements';

export type WalletHeader = Pick<WalletVersionRow, 'sequence' | 'hmac' | 'deviceId' | 'updatedAt' | 'bytes'> & {
  /** walletVersion(sequence) answers its content: it is kept, or it is the current state. */
  contentKept: boolean;
};

export type WalletVersionContent = Pick<WalletRow, 'sequence' | 'hmac' | 'updatedAt' | 'encryptedWallet'>;

/**
 * The account's accepted wallet states. A header is written only inside the
 * transaction of the compare-and-set that accepted its state, so there is one
 * exactly for each acknowledged state. The current state's content is always
 * available from `wallets`; the rows here hold the content of the kept ones.
 */
export class WalletHistoryRepository {
  async insert(m: EntityManager, accountId: number, version: Omit<WalletVersionRow, 'accountId'>): Promise<void> {
    await execute(
      m,
      'INSERT INTO wallet_versions (account_id, sequence, hmac, device_id, updated_at, bytes, encrypted_wallet) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [
        accountId,
        version.sequence,
        version.hmac,
        version.deviceId,
        toDatabase<WalletVersionRow>(m, 'WalletVersion', 'updatedAt', version.updatedAt),
        version.bytes,
        version.encryptedWallet,
      ],
    );
  }

  /**
   * Drops the content of exactly one state: each accepted write drops the one
   * that fell out of the kept window, so a write touches one row whatever the
   * length of the history.
   */
  async dropContentOf(m: EntityManager, accountId: number, sequence: number): Promise<void> {
    await execute(m, 'UPDATE wallet_versions SET encrypted_wallet = NULL WHERE account_id = ? AND sequence = ? AND encrypted_wallet IS NOT NULL', [
      accountId,
      sequence,
    ]);
  }

  /** Drops the content of every state before `sequence` (a password change: they were encrypted under the old keys). */
  async dropContentBefore(m: EntityManager, accountId: number, sequence: number): Promise<number> {
    const result = await execute(
      m,
      'UPDATE wallet_versions SET encrypted_wallet = NULL WHERE account_id = ? AND sequence < ? AND encrypted_wallet IS NOT NULL',
      [accountId, sequence],
    );
    return result.affected ?? 0;
  }

  /**
   * Drops, across all accounts, the contents older than the `kept` most recent
   * states: what a restart with a smaller WALLET_VERSIONS_KEPT leaves behind.
   */
  async dropContentOutsideWindow(m: EntityManager, kept: number): Promise<number> {
    const result = await execute(
      m,
      `UPDATE wallet_versions SET encrypted_wallet = NULL
       WHERE encrypted_wallet IS NOT NULL
         AND sequence <= (SELECT w.sequence FROM wallets w WHERE w.account_id = wallet_versions.account_id) - ?`,
      [Math.max(kept, 1)],
    );
    return result.affected ?? 0;
  }

  /** Headers with a sequence above `sinceSequence`, oldest first. */
  async list(m: EntityManager, accountId: number, sinceSequence: number, limit: number): Promise<WalletHeader[]> {
    const result = await execute(
      m,
      `SELECT v.sequence, v.hmac, v.device_id AS deviceId, v.updated_at AS updatedAt, v.bytes,
              CASE WHEN v.encrypted_wallet IS NOT NULL OR v.sequence = w.sequence THEN 1 ELSE 0 END AS contentKept
       FROM wallet_versions v LEFT JOIN wallets w ON w.account_id = v.account_id
       WHERE v.account_id = ? AND v.sequence > ? ORDER BY v.sequence LIMIT ?`,
      [accountId, sinceSequence, limit],
    );
    return ((result.records ?? []) as Array<Record<string, unknown>>).map(({ contentKept, ...row }) => ({
      ...hydrate<Omit<WalletHeader, 'contentKept'>>(m, 'WalletVersion', row),
      contentKept: Number(contentKept) === 1,
    }));
  }

  /** The state `sequence` with its content, or null when there is no such state or its content was dropped. */
  async findVersion(m: EntityManager, accountId: number, sequence: number): Promise<WalletVersionContent | null> {
    const result = await execute(
      m,
      `SELECT v.sequence, v.hmac, v.updated_at AS updatedAt,
              CASE WHEN v.sequence = w.sequence THEN w.encrypted_wallet ELSE v.encrypted_wallet END AS encryptedWallet
       FROM wallet_versions v LEFT JOIN wallets w ON w.account_id = v.account_id
       WHERE v.account_id = ? AND v.sequence = ?`,
      [accountId, sequence],
    );
    const row = (result.records as Array<Record<string, unknown>> | undefined)?.[0];
    if (!row || row.encryptedWallet === null || row.encryptedWallet === undefined) return null;
    return hydrate<WalletVersionContent>(m, 'WalletVersion', row);
  }
}
