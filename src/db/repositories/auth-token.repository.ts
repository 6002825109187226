import { LessThanOrEqual, type EntityManager } from 'typeorm';
import { AuthTokenEntity, type AuthTokenRow } from '../entities/auth-token.entity';

export type ActiveToken = Pick<AuthTokenRow, 'id' | 'accountId' | 'deviceId' | 'expiresAt' | 'lastUsedAt'>;

export class AuthTokenRepository {
  /** One statement: a device's new token replaces its old one (unique account_id + device_id). */
  async upsertForDevice(m: EntityManager, token: Omit<AuthTokenRow, 'id'>): Promise<void> {
    await m
      .createQueryBuilder()
      .insert()
      .into(AuthTokenEntity)
      .values(token)
      .orUpdate(['token_hash', 'last_used_at', 'expires_at'], ['account_id', 'device_id'])
      .execute();
  }

  findByHash(m: EntityManager, tokenHash: string): Promise<ActiveToken | null> {
    return m.findOne(AuthTokenEntity, {
      select: { id: true, accountId: true, deviceId: true, expiresAt: true, lastUsedAt: true },
      where: { tokenHash },
    });
  }

  async touch(m: EntityManager, id: number, lastUsedAt: Date): Promise<void> {
    await m.update(AuthTokenEntity, { id }, { lastUsedAt });
  }

  listForAccount(m: EntityManager, accountId: number): Promise<AuthTokenRow[]> {
    return m.find(AuthTokenEntity, { where: { accountId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async deleteById(m: EntityManager, id: number): Promise<boolean> {
    return affected(await m.delete(AuthTokenEntity, { id }));
  }

  async deleteForDevice(m: EntityManager, accountId: number, deviceId: string): Promise<boolean> {
    return affected(await m.delete(AuthTokenEntity, { accountId, deviceId }));
  }

  async deleteAllForAccount(m: EntityManager, accountId: number): Promise<number> {
    return (await m.delete(AuthTokenEntity, { accountId })).affected ?? 0;
  }

  async purgeExpired(m: EntityManager, now: Date): Promise<number> {
    return (await m.delete(AuthTokenEntity, { expiresAt: LessThanOrEqual(now) })).affected ?? 0;
  }
}

const affected = (result: { affected?: number | null }) => (result.affected ?? 0) > 0;
