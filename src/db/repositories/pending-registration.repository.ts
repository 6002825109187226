import { LessThanOrEqual, MoreThan, type EntityManager } from 'typeorm';
import { dialectOf } from '../dialects';
import { PendingRegistrationEntity, type PendingRegistrationRow } from '../entities/pending-registration.entity';

export type NewPendingRegistration = Omit<PendingRegistrationRow, 'id'>;

/** The pending registrations of EmailVerify mode; none of them is an account. */
export class PendingRegistrationRepository {
  async insert(m: EntityManager, row: NewPendingRegistration): Promise<number> {
    const result = await m.createQueryBuilder().insert().into(PendingRegistrationEntity).values(row).execute();
    return Number(result.identifiers[0]?.id ?? result.raw?.insertId);
  }

  /** The email's registrations that have not expired, newest first. */
  listLive(m: EntityManager, emailNormalized: string, now: Date): Promise<PendingRegistrationRow[]> {
    return m.find(PendingRegistrationEntity, { where: { emailNormalized, expiresAt: MoreThan(now) }, order: { id: 'DESC' } });
  }

  /** Drops all but the `count` newest registrations of the email. */
  async keepNewest(m: EntityManager, emailNormalized: string, count: number): Promise<number> {
    const newest = await m.find(PendingRegistrationEntity, { select: { id: true }, where: { emailNormalized }, order: { id: 'DESC' }, take: count });
    if (newest.length < count) return 0;
    const result = await m
      .createQueryBuilder()
      .delete()
      .from(PendingRegistrationEntity)
      .where('email_normalized = :emailNormalized AND id < :oldestKept', { emailNormalized, oldestKept: newest[count - 1].id })
      .execute();
    return result.affected ?? 0;
  }

  /** A fresh code for the registration: its earlier code stops working. False when it is gone. */
  async replaceCode(m: EntityManager, id: number, codeHash: string, expiresAt: Date): Promise<boolean> {
    return ((await m.update(PendingRegistrationEntity, { id }, { codeHash, expiresAt })).affected ?? 0) > 0;
  }

  /**
   * The ids of the email's registrations, locked for the rest of the
   * transaction (Dialect.lockRows). Two
   * confirmations for one email then queue on the same rows in the same order
   * instead of each locking its own row and deadlocking on the other's.
   */
  async lockForEmail(m: EntityManager, emailNormalized: string): Promise<number[]> {
    const query = dialectOf(m).lockRows(
      m
        .createQueryBuilder(PendingRegistrationEntity, 'p')
        .select('p.id', 'id')
        .where('p.email_normalized = :emailNormalized', { emailNormalized })
        .orderBy('p.id', 'ASC'),
    );
    return (await query.getRawMany<{ id: number | string }>()).map((row) => Number(row.id));
  }

  async deleteForEmail(m: EntityManager, emailNormalized: string): Promise<number> {
    return (await m.delete(PendingRegistrationEntity, { emailNormalized })).affected ?? 0;
  }

  async purgeExpired(m: EntityManager, now: Date): Promise<number> {
    return (await m.delete(PendingRegistrationEntity, { expiresAt: LessThanOrEqual(now) })).affected ?? 0;
  }
}
