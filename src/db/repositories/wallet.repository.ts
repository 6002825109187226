import type { EntityManager } from 'typeorm';
import { dialectOf } from '../dialects';
import { AuthTokenEntity } from '../entities/auth-token.entity';
import type { WalletRow } from '../entities/wallet.entity';
import { TOKEN_COLUMNS, type ActiveToken } from './auth-token.repository';
import { claimRows, execute, firstRow, hydrate, toDatabase } from './statements';

/**
 * The wallet's compare-and-set lives here. Each write is one conditional
 * statement, so the database, not application code, decides which of several
 * concurrent uploads of the same sequence wins.
 */
export class WalletRepository {
  async find(m: EntityManager, accountId: number): Promise<WalletRow | null> {
    const result = await execute(
      m,
      'SELECT account_id AS accountId, encrypted_wallet AS encryptedWallet, hmac, sequence, updated_at AS updatedAt FROM wallets WHERE account_id = ?',
      [accountId],
    );
    return firstRow<WalletRow>(m, 'Wallet', result);
  }

  /**
   * The auth token with this hash and its account's wallet (null when none was
   * uploaded yet), in one statement: all that a walletState request reads.
   */
  async findWithToken(m: EntityManager, tokenHash: string): Promise<{ token: ActiveToken; wallet: WalletRow | null } | null> {
    const result = await execute(
      m,
      `SELECT ${TOKEN_COLUMNS}, w.encrypted_wallet AS encryptedWallet, w.hmac, w.sequence, w.updated_at AS updatedAt
       FROM auth_tokens t LEFT JOIN wallets w ON w.account_id = t.account_id WHERE t.token_hash = ?`,
      [tokenHash],
    );
    const row = (result.records as Array<Record<string, unknown>> | undefined)?.[0];
    if (!row) return null;
    const { encryptedWallet, hmac, sequence, updatedAt, ...token } = row;
    return {
      token: hydrate<ActiveToken>(m, AuthTokenEntity, token),
      wallet: sequence === null ? null : hydrate<WalletRow>(m, 'Wallet', { accountId: token.accountId, encryptedWallet, hmac, sequence, updatedAt }),
    };
  }

  /**
   * Whether the writer's token (checked before the transaction) still exists,
   * with the account's row and then the token's locked until the transaction
   * ends: a password change (which locks the account first too, then deletes
   * every token), a logout or a revocation either committed before, and the
   * token is gone, or waits for this write. So no upload authenticated before a
   * password change lands after it (on SQLite transactions run one at a time).
   */
  async lockForWriter(m: EntityManager, accountId: number, tokenId: number): Promise<boolean> {
    // Prepared statements, as every upload runs them (TypeORM's query builder cost more than the statements).
    await this.lockAccount(m, accountId);
    const token = await execute(m, `SELECT t.id FROM auth_tokens t WHERE t.id = ? AND t.account_id = ?${dialectOf(m).lockClause}`, [tokenId, accountId]);
    return token.records.length > 0;
  }

  /** Locks the account's row until the transaction ends, as lockForWriter and a password change take it first. */
  async lockAccount(m: EntityManager, accountId: number): Promise<void> {
    await execute(m, `SELECT a.id FROM accounts a WHERE a.id = ?${dialectOf(m).lockClause}`, [accountId]);
  }

  /**
   * Claims the account's wallet row (claimRows, on sequence), or its absence (claimAbsence), until the transaction
   * ends, without changing it. Every upload writes that row (or inserts it), so on a Galera cluster a revocation that
   * claims it meets any upload at certification: the one certified second runs again, and an upload then finds its
   * token gone. A locking read of the token would not do: it is local to its node.
   */
  async claim(m: EntityManager, accountId: number): Promise<void> {
    if (!(await claimRows(m, 'wallets', 'sequence', 'account_id = ?', [accountId]))) await this.claimAbsence(m, accountId);
  }

  /**
   * Whether the account has no wallet, with that absence claimed until the
   * transaction ends: a placeholder row (sequence 0) is inserted and at once
   * deleted again, so no other transaction ever sees it. A read of "no row"
   * cannot stop a concurrent first upload: on a Galera cluster a locking read
   * is local to its node and certification compares only the rows each
   * transaction wrote, so both would commit (write skew). The claim writes the
   * wallet's key, which the first upload writes too: one of the two waits for
   * or loses to the other, on one database or across nodes.
   */
  async claimAbsence(m: EntityManager, accountId: number): Promise<boolean> {
    const absent = await dialectOf(m).insertIfAbsent(m, 'wallets', {
      account_id: accountId,
      encrypted_wallet: '',
      hmac: '',
      sequence: 0,
      updated_at: toDatabase<WalletRow>(m, 'Wallet', 'updatedAt', new Date(0)),
    });
    if (absent) await execute(m, 'DELETE FROM wallets WHERE account_id = ? AND sequence = 0', [accountId]);
    return absent;
  }

  /**
   * Writes `wallet` only if the stored sequence is exactly wallet.sequence - 1 (or,
   * for sequence 1, if no wallet exists yet). True when this call's write landed.
   */
  async compareAndSet(m: EntityManager, accountId: number, wallet: Omit<WalletRow, 'accountId'>): Promise<boolean> {
    const updatedAt = toDatabase<WalletRow>(m, 'Wallet', 'updatedAt', wallet.updatedAt);
    if (wallet.sequence === 1) {
      return dialectOf(m).insertIfAbsent(m, 'wallets', {
        account_id: accountId,
        encrypted_wallet: wallet.encryptedWallet,
        hmac: wallet.hmac,
        sequence: wallet.sequence,
        updated_at: updatedAt,
      });
    }
    const result = await execute(
      m,
      'UPDATE wallets SET encrypted_wallet = ?, hmac = ?, sequence = ?, updated_at = ? WHERE account_id = ? AND sequence = ?',
      [wallet.encryptedWallet, wallet.hmac, wallet.sequence, updatedAt, accountId, wallet.sequence - 1],
    );
    return result.affected === 1;
  }
}
