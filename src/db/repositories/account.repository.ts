import type { EntityManager } from 'typeorm';
import type { KeyParams } from '../../lib/key-params';
import { dialectOf } from '../dialects';
import { AccountEntity, type AccountRow } from '../entities/account.entity';
import { claimRows } from './statements';

export type NewAccount = Omit<AccountRow, 'id'>;

export class AccountRepository {
  /** The new account's id, or 'taken' when an account already has the email (its normalized form). */
  async insert(m: EntityManager, account: NewAccount): Promise<number | 'taken'> {
    const dialect = dialectOf(m);
    try {
      const result = await dialect.recoverable(m, () => m.createQueryBuilder().insert().into(AccountEntity).values(account).execute());
      return Number(result.identifiers[0]?.id ?? result.raw?.insertId);
    } catch (error) {
      if (dialect.classify(error) === 'duplicate') return 'taken';
      throw error;
    }
  }

  findById(m: EntityManager, id: number): Promise<AccountRow | null> {
    return m.findOneBy(AccountEntity, { id });
  }

  findByEmail(m: EntityManager, emailNormalized: string): Promise<AccountRow | null> {
    return m.findOneBy(AccountEntity, { emailNormalized });
  }

  /**
   * Claims the account row for the rest of the transaction (claimRows, on key_n) and answers whether its password
   * hash is still `expected`: a password change that committed meanwhile makes it false. A locking read would not do:
   * a login that read the old hash through one Galera node and a password change through another both committed, and
   * the login's token outlived the change.
   */
  lockIfPasswordHash(m: EntityManager, id: number, expected: string): Promise<boolean> {
    return claimRows(m, 'accounts', 'key_n', 'id = ? AND password_hash = ?', [id, expected]);
  }

  /** New password hash and seed; the key parameters only when given (omitted = unchanged). */
  async updateCredentials(m: EntityManager, id: number, passwordHash: string, clientSaltSeed: string, keyParams?: KeyParams): Promise<void> {
    const keys = keyParams ? { keyN: keyParams.n, keyR: keyParams.r, keyP: keyParams.p } : {};
    await m.update(AccountEntity, { id }, { passwordHash, clientSaltSeed, ...keys });
  }

  async markVerified(m: EntityManager, id: number): Promise<void> {
    await m.update(AccountEntity, { id }, { verified: true });
  }

  async delete(m: EntityManager, id: number): Promise<boolean> {
    const result = await m.delete(AccountEntity, { id });
    return (result.affected ?? 0) > 0;
  }
}
