import type { EntityManager } from 'typeorm';
import type { KeyParams } from '../../lib/key-params';
import { AccountEntity, type AccountRow } from '../entities/account.entity';

export type NewAccount = Omit<AccountRow, 'id'>;

export class AccountRepository {
  async insert(m: EntityManager, account: NewAccount): Promise<number> {
    const result = await m.createQueryBuilder().insert().into(AccountEntity).values(account).execute();
    return Number(result.identifiers[0]?.id ?? result.raw?.insertId);
  }

  findById(m: EntityManager, id: number): Promise<AccountRow | null> {
    return m.findOneBy(AccountEntity, { id });
  }

  findByEmail(m: EntityManager, emailNormalized: string): Promise<AccountRow | null> {
    return m.findOneBy(AccountEntity, { emailNormalized });
  }

  /**
   * Locks the account row for the rest of the transaction (MySQL; SQLite's
   * transactions are already serialized) and answers whether its password hash
   * is still `expected`: a password change that committed meanwhile makes it false.
   */
  async lockIfPasswordHash(m: EntityManager, id: number, expected: string): Promise<boolean> {
    const query = m.createQueryBuilder(AccountEntity, 'a').select('a.passwordHash', 'passwordHash').where('a.id = :id', { id });
    if (m.connection.options.type === 'mysql') query.setLock('pessimistic_write');
    const row = await query.getRawOne<{ passwordHash: string }>();
    return row?.passwordHash === expected;
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
