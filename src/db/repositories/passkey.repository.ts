import type { EntityManager } from 'typeorm';
import { dialectOf } from '../dialects';
import { AccountEntity } from '../entities/account.entity';
import type { ChallengePurpose, PasskeyRow, WebauthnChallengeRow } from '../entities/passkey.entity';
import { execute, firstRow, hydrate, toDatabase } from './statements';

const passkeyDate = (m: EntityManager, property: 'createdAt' | 'lastUsedAt', value: Date) => toDatabase<PasskeyRow>(m, 'Passkey', property, value);
const challengeDate = (m: EntityManager, value: Date) => toDatabase<WebauthnChallengeRow>(m, 'WebauthnChallenge', 'expiresAt', value);

const COLUMNS =
  'id, account_id AS accountId, credential_hash AS credentialHash, credential_id AS credentialId, public_key AS publicKey, sign_count AS signCount, transports, name, wrapped_keys AS wrappedKeys, created_at AS createdAt, last_used_at AS lastUsedAt';

/** A new passkey as finishPasskeyRegistration stores it. */
export type NewPasskey = Omit<PasskeyRow, 'id' | 'lastUsedAt'>;

/** Why an insert stored nothing: the account holds its maximum already, or the credential is registered (to it or another account). */
export type AddPasskeyOutcome = { kind: 'added'; id: number } | { kind: 'full' } | { kind: 'taken' };

/**
 * An account's passkeys and the WebAuthn challenges in flight. The database
 * decides every race: a challenge is spent by one conditional DELETE (right
 * purpose, right account, not expired), a sign counter advances by one
 * conditional UPDATE, and the per-account maximum is counted under the
 * account's row lock, so two concurrent registrations cannot both be the 10th.
 */
export class PasskeyRepository {
  async listForAccount(m: EntityManager, accountId: number): Promise<PasskeyRow[]> {
    const result = await execute(m, `SELECT ${COLUMNS} FROM passkeys WHERE account_id = ? ORDER BY id`, [accountId]);
    return result.records.map((row) => normalize(hydrate<PasskeyRow>(m, 'Passkey', row)));
  }

  async countForAccount(m: EntityManager, accountId: number): Promise<number> {
    const result = await execute(m, 'SELECT COUNT(*) AS n FROM passkeys WHERE account_id = ?', [accountId]);
    return Number(result.records[0]?.n ?? 0);
  }

  async findByCredentialHash(m: EntityManager, credentialHash: string): Promise<PasskeyRow | null> {
    const row = firstRow<PasskeyRow>(m, 'Passkey', await execute(m, `SELECT ${COLUMNS} FROM passkeys WHERE credential_hash = ?`, [credentialHash]));
    return row && normalize(row);
  }

  async findForAccount(m: EntityManager, accountId: number, id: number): Promise<PasskeyRow | null> {
    const row = firstRow<PasskeyRow>(m, 'Passkey', await execute(m, `SELECT ${COLUMNS} FROM passkeys WHERE id = ? AND account_id = ?`, [id, accountId]));
    return row && normalize(row);
  }

  /** Run inside a transaction: the account's row stays locked until it ends, so the count below holds. */
  async add(m: EntityManager, passkey: NewPasskey, maxPerAccount: number): Promise<AddPasskeyOutcome> {
    const dialect = dialectOf(m);
    const locked = await dialect
      .lockRows(m.createQueryBuilder().select('a.id', 'id').from(AccountEntity, 'a').where('a.id = :id', { id: passkey.accountId }))
      .getRawOne();
    if (!locked || (await this.countForAccount(m, passkey.accountId)) >= maxPerAccount) return { kind: 'full' };
    try {
      await dialect.recoverable(m, () =>
        execute(
          m,
          'INSERT INTO passkeys (account_id, credential_hash, credential_id, public_key, sign_count, transports, name, wrapped_keys, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [
            passkey.accountId,
            passkey.credentialHash,
            passkey.credentialId,
            passkey.publicKey,
            passkey.signCount,
            passkey.transports,
            passkey.name,
            passkey.wrappedKeys,
            passkeyDate(m, 'createdAt', passkey.createdAt),
          ],
        ),
      );
    } catch (error) {
      if (dialect.classify(error) === 'duplicate') return { kind: 'taken' };
      throw error;
    }
    const added = await this.findByCredentialHash(m, passkey.credentialHash);
    return { kind: 'added', id: added!.id };
  }

  /**
   * Records a use whose assertion reported `signCount`. False when the stored
   * counter is no longer below it (a concurrent use of the same assertion, or
   * of a clone, got there first); an authenticator that keeps no counter
   * reports 0 every time, and then only the use is recorded. Every parameter
   * is compared with the column, never with a literal: PostgreSQL types `? = 0`
   * as integer, and a counter above 2^31-1 would fail the statement.
   */
  async recordUse(m: EntityManager, id: number, signCount: number, now: Date): Promise<boolean> {
    const result = await execute(m, 'UPDATE passkeys SET sign_count = ?, last_used_at = ? WHERE id = ? AND (sign_count < ? OR (sign_count = 0 AND sign_count = ?))', [
      signCount,
      passkeyDate(m, 'lastUsedAt', now),
      id,
      signCount,
      signCount,
    ]);
    return result.affected === 1;
  }

  /** Sets (or with null removes) the wrapped keys; false when the account has no such passkey. */
  async setWrappedKeys(m: EntityManager, accountId: number, id: number, wrappedKeys: string | null): Promise<boolean> {
    const result = await execute(m, 'UPDATE passkeys SET wrapped_keys = ? WHERE id = ? AND account_id = ?', [wrappedKeys, id, accountId]);
    return result.affected === 1;
  }

  /** After a password change the wrapped keys are the old ones: every passkey of the account stops unlocking (it still signs). */
  async dropWrappedKeys(m: EntityManager, accountId: number): Promise<number> {
    return (await execute(m, 'UPDATE passkeys SET wrapped_keys = NULL WHERE account_id = ? AND wrapped_keys IS NOT NULL', [accountId])).affected;
  }

  async remove(m: EntityManager, accountId: number, id: number): Promise<boolean> {
    return (await execute(m, 'DELETE FROM passkeys WHERE id = ? AND account_id = ?', [id, accountId])).affected === 1;
  }

  async removeAll(m: EntityManager, accountId: number): Promise<number> {
    return (await execute(m, 'DELETE FROM passkeys WHERE account_id = ?', [accountId])).affected;
  }

  async issueChallenge(m: EntityManager, challenge: WebauthnChallengeRow): Promise<void> {
    await execute(m, 'INSERT INTO webauthn_challenges (challenge, purpose, account_id, expires_at) VALUES (?, ?, ?, ?)', [
      challenge.challenge,
      challenge.purpose,
      challenge.accountId,
      challengeDate(m, challenge.expiresAt),
    ]);
  }

  /**
   * Spends `challenge` when it was issued for `purpose` and `accountId` (null:
   * a sign-in, which no account owns) and has not expired: true for exactly
   * one of any number of concurrent answers. A challenge of another purpose or
   * account is left alone, so a stray answer cannot burn someone else's.
   */
  async spendChallenge(m: EntityManager, challenge: string, purpose: ChallengePurpose, accountId: number | null, now: Date): Promise<boolean> {
    const owner = accountId === null ? 'account_id IS NULL' : 'account_id = ?';
    const result = await execute(m, `DELETE FROM webauthn_challenges WHERE challenge = ? AND purpose = ? AND ${owner} AND expires_at > ?`, [
      challenge,
      purpose,
      ...(accountId === null ? [] : [accountId]),
      challengeDate(m, now),
    ]);
    return result.affected === 1;
  }

  /** Challenges nobody answered; how many went. */
  async purgeExpiredChallenges(m: EntityManager, now: Date): Promise<number> {
    return (await execute(m, 'DELETE FROM webauthn_challenges WHERE expires_at <= ?', [challengeDate(m, now)])).affected;
  }
}

/** MySQL answers a bigint as a string. */
const normalize = (row: PasskeyRow): PasskeyRow => ({ ...row, id: Number(row.id), signCount: Number(row.signCount) });
