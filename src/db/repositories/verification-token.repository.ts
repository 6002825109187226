import { LessThanOrEqual, MoreThan, type EntityManager } from 'typeorm';
import { VerificationTokenEntity, type VerificationTokenRow } from '../entities/verification-token.entity';

export class VerificationTokenRepository {
  /** A new link replaces the account's previous one, which stops working. */
  async replace(m: EntityManager, token: VerificationTokenRow): Promise<void> {
    await m
      .createQueryBuilder()
      .insert()
      .into(VerificationTokenEntity)
      .values(token)
      .orUpdate(['token_hash', 'created_at', 'expires_at'], ['account_id'])
      .execute();
  }

  findLive(m: EntityManager, tokenHash: string, now: Date): Promise<VerificationTokenRow | null> {
    return m.findOneBy(VerificationTokenEntity, { tokenHash, expiresAt: MoreThan(now) });
  }

  /** Single use: of two concurrent redemptions only one deletes the row. */
  async consume(m: EntityManager, tokenHash: string): Promise<boolean> {
    return ((await m.delete(VerificationTokenEntity, { tokenHash })).affected ?? 0) > 0;
  }

  async purgeExpired(m: EntityManager, now: Date): Promise<number> {
    return (await m.delete(VerificationTokenEntity, { expiresAt: LessThanOrEqual(now) })).affected ?? 0;
  }
}
