import { LessThanOrEqual, type EntityManager } from 'typeorm';
import { AuthTokenEntity, type AuthTokenRow } from '../entities/auth-token.entity';
import { execute, firstRow, hydrate, toDatabase } from './statements';

export type ActiveToken = Pick<AuthTokenRow, 'id' | 'accountId' | 'deviceId' | 'createdAt' | 'expiresAt' | 'lastUsedAt'>;

/** What authentication needs of a token, from `auth_tokens t`. */
export const TOKEN_COLUMNS =
  't.id, t.account_id AS accountId, t.device_id AS deviceId, t.created_at AS createdAt, t.expires_at AS expiresAt, t.last_used_at AS lastUsedAt';

export class AuthTokenRepository {
  /**
   * One statement: a device's new token replaces its old one (unique account_id
   * + device_id). created_at is the new token's issue time: its absolute cap
   * (TOKEN_MAX_AGE_DAYS) counts from there.
   */
  async upsertForDevice(m: EntityManager, token: Omit<AuthTokenRow, 'id'>): Promise<void> {
    await m
      .createQueryBuilder()
      .insert()
      .into(AuthTokenEntity)
      .values(token)
      .orUpdate(['token_hash', 'created_at', 'last_used_at', 'expires_at'], ['account_id', 'device_id'])
      .execute();
  }

  async findByHash(m: EntityManager, tokenHash: string): Promise<ActiveToken | null> {
    const result = await execute(m, `SELECT ${TOKEN_COLUMNS} FROM auth_tokens t WHERE t.token_hash = ?`, [tokenHash]);
    return firstRow<ActiveToken>(m, AuthTokenEntity, result);
  }

  /**
   * The tokens among `tokenHashes` that still exist, keyed by hash, in one
   * statement: checking every open WebSocket costs a query per batch, not one
   * per connection.
   */
  async findByHashes(m: EntityManager, tokenHashes: readonly string[]): Promise<Map<string, ActiveToken>> {
    if (tokenHashes.length === 0) return new Map();
    const placeholders = tokenHashes.map(() => '?').join(', ');
    const result = await execute(m, `SELECT ${TOKEN_COLUMNS}, t.token_hash AS tokenHash FROM auth_tokens t WHERE t.token_hash IN (${placeholders})`, [...tokenHashes]);
    const rows = (result.records as Array<Record<string, unknown>> | undefined) ?? [];
    return new Map(
      rows.map((row) => {
        const { tokenHash, ...token } = hydrate<ActiveToken & { tokenHash: string }>(m, AuthTokenEntity, row);
        return [tokenHash, token];
      }),
    );
  }

  /** The token was used: one statement records it and slides its expiry (see SessionService). */
  async touch(m: EntityManager, id: number, lastUsedAt: Date, expiresAt: Date): Promise<void> {
    await execute(m, 'UPDATE auth_tokens SET last_used_at = ?, expires_at = ? WHERE id = ?', [
      toDatabase<AuthTokenRow>(m, AuthTokenEntity, 'lastUsedAt', lastUsedAt),
      toDatabase<AuthTokenRow>(m, AuthTokenEntity, 'expiresAt', expiresAt),
      id,
    ]);
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
