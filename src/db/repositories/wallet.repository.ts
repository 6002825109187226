import type { EntityManager } from 'typeorm';
import type { WalletRow } from '../entities/wallet.entity';

export type WalletWrite = Pick<WalletRow, 'encryptedWallet' | 'hmac' | 'sequence' | 'updatedAt'>;

/**
 * The wallet's compare-and-set lives here. Each write is one conditional
 * statement, so the database, not application code, decides which of several
 * concurrent uploads of the same sequence wins.
 */
export class WalletRepository {
  find(m: EntityManager, accountId: number): Promise<WalletRow | null> {
    return m.findOneBy<WalletRow>('Wallet', { accountId });
  }

  /**
   * Writes `wallet` only if the stored sequence is exactly wallet.sequence - 1 (or,
   * for sequence 1, if no wallet exists yet). True when this call's write landed.
   */
  async compareAndSet(m: EntityManager, accountId: number, wallet: WalletWrite, isDuplicateKey: (e: unknown) => boolean): Promise<boolean> {
    if (wallet.sequence === 1) {
      try {
        await m.createQueryBuilder().insert().into('Wallet').values({ accountId, ...wallet }).execute();
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    }
    const result = await m
      .createQueryBuilder()
      .update('Wallet')
      .set(wallet)
      .where('account_id = :accountId AND sequence = :previous', { accountId, previous: wallet.sequence - 1 })
      .execute();
    return result.affected === 1;
  }
}
