import type { EntityManager } from 'typeorm';
import { AccountEntity, type AccountRow } from '../entities/account.entity';
import { dialectOf } from '../dialects';
import { execute, toDatabase } from './statements';

export interface AccountSummary {
  id: number;
  email: string;
  verified: boolean;
  createdAt: Date;
  devices: number;
  walletSequence: number | null;
}

export interface WalletSummary {
  sequence: number;
  bytes: number;
  updatedAt: Date;
  /** Wallet history: states whose header is kept, and how many of them still have their content (WALLET_VERSIONS_KEPT). */
  historyVersions: number;
  historyWithContent: number;
}

export interface ServerStats {
  accounts: number;
  pendingAccounts: number;
  devices: number;
  wallets: number;
  walletBytes: number;
  historyRows: number;
  whitelisted: number;
}

/** What an operator reads about accounts and the whole server: read-only, never on a request's path. */
export class AdminReportRepository {
  /** Newest first; `pendingOnly`: accounts that have not verified their email yet. */
  async listAccounts(m: EntityManager, options: { pendingOnly: boolean; limit: number }): Promise<AccountSummary[]> {
    const query = m
      .createQueryBuilder(AccountEntity, 'a')
      // Aliases as arguments, which the query builder quotes: some databases fold a bare alias to lower case.
      .select('a.id', 'id')
      .addSelect('a.email', 'email')
      .addSelect('a.verified', 'verified')
      .addSelect('a.created_at', 'createdAt')
      .addSelect('(SELECT COUNT(*) FROM auth_tokens t WHERE t.account_id = a.id)', 'devices')
      .addSelect('(SELECT w.sequence FROM wallets w WHERE w.account_id = a.id)', 'walletSequence')
      .orderBy('a.id', 'DESC')
      .limit(options.limit);
    if (options.pendingOnly) query.where('a.verified = :verified', { verified: false });
    const rows = await query.getRawMany<Record<string, unknown>>();
    const dates = m.connection.getMetadata(AccountEntity).findColumnWithPropertyName('createdAt')!;
    return rows.map((row) => ({
      id: Number(row.id),
      email: String(row.email),
      verified: Boolean(Number(row.verified)),
      createdAt: m.connection.driver.prepareHydratedValue(row.createdAt, dates) as Date,
      devices: Number(row.devices),
      walletSequence: row.walletSequence === null || row.walletSequence === undefined ? null : Number(row.walletSequence),
    }));
  }

  findAccount(m: EntityManager, emailNormalized: string): Promise<AccountRow | null> {
    return m.findOneBy(AccountEntity, { emailNormalized });
  }

  /** The wallet's sequence, size in bytes (UTF-8, as MAX_WALLET_BYTES counts) and last change, without reading the blob out. */
  async wallet(m: EntityManager, accountId: number): Promise<WalletSummary | null> {
    const sizeOf = dialectOf(m).octetLength('encrypted_wallet');
    const result = await execute(m, `SELECT sequence, ${sizeOf} AS bytes, updated_at AS updatedAt FROM wallets WHERE account_id = ?`, [accountId]);
    const row = (result.records as Array<Record<string, unknown>>)[0];
    if (!row) return null;
    const updatedAt = m.connection.getMetadata('Wallet').findColumnWithPropertyName('updatedAt')!;
    const [history] = (
      await execute(m, 'SELECT COUNT(*) AS versions, COUNT(encrypted_wallet) AS withContent FROM wallet_versions WHERE account_id = ?', [accountId])
    ).records as Array<Record<string, unknown>>;
    return {
      sequence: Number(row.sequence),
      bytes: Number(row.bytes),
      updatedAt: m.connection.driver.prepareHydratedValue(row.updatedAt, updatedAt) as Date,
      historyVersions: Number(history.versions),
      historyWithContent: Number(history.withContent),
    };
  }

  async stats(m: EntityManager): Promise<ServerStats> {
    const sizeOf = dialectOf(m).octetLength('encrypted_wallet');
    const [row] = (
      await execute(
        m,
        `SELECT (SELECT COUNT(*) FROM accounts) AS accounts,
                (SELECT COUNT(*) FROM accounts WHERE verified = ?) AS pendingAccounts,
                (SELECT COUNT(*) FROM auth_tokens) AS devices,
                (SELECT COUNT(*) FROM wallets) AS wallets,
                (SELECT COALESCE(SUM(${sizeOf}), 0) FROM wallets) AS walletBytes,
                (SELECT COUNT(*) FROM wallet_versions) AS historyRows,
                (SELECT COUNT(*) FROM account_whitelist) AS whitelisted`,
        [toDatabase(m, AccountEntity, 'verified', false)],
      )
    ).records as Array<Record<string, unknown>>;
    return {
      accounts: Number(row.accounts),
      pendingAccounts: Number(row.pendingAccounts),
      devices: Number(row.devices),
      wallets: Number(row.wallets),
      walletBytes: Number(row.walletBytes),
      historyRows: Number(row.historyRows),
      whitelisted: Number(row.whitelisted),
    };
  }
}
