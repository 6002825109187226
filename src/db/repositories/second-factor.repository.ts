import type { EntityManager } from 'typeorm';
import { dialectOf } from '../dialects';
import type { RecoveryCodeRow, TotpRow } from '../entities/second-factor.entity';
import { execute, firstRow, toDatabase } from './statements';

const totpDate = (m: EntityManager, property: 'enabledAt' | 'pendingExpiresAt', value: Date) => toDatabase<TotpRow>(m, 'Totp', property, value);

/**
 * An account's second factors. The database decides every race: a TOTP step
 * is spent by one conditional UPDATE (the step must be later than the last one
 * used), a recovery code by one DELETE, an enrolment is confirmed by one UPDATE
 * that still finds the pending secret the code was checked against. Zero rows
 * affected means another request got there first.
 */
export class SecondFactorRepository {
  async findTotp(m: EntityManager, accountId: number): Promise<TotpRow | null> {
    const result = await execute(
      m,
      'SELECT account_id AS accountId, secret, enabled_at AS enabledAt, last_used_step AS lastUsedStep, pending_secret AS pendingSecret, pending_expires_at AS pendingExpiresAt FROM account_totp WHERE account_id = ?',
      [accountId],
    );
    return firstRow<TotpRow>(m, 'Totp', result);
  }

  /** A new enrolment replaces any pending one; an enabled secret stays until the new one is confirmed. */
  async beginEnrolment(m: EntityManager, accountId: number, sealedSecret: string, expiresAt: Date): Promise<void> {
    await dialectOf(m).insertIfAbsent(m, 'account_totp', { account_id: accountId });
    await execute(m, 'UPDATE account_totp SET pending_secret = ?, pending_expires_at = ? WHERE account_id = ?', [
      sealedSecret,
      totpDate(m, 'pendingExpiresAt', expiresAt),
      accountId,
    ]);
  }

  /**
   * Makes the pending secret the enabled one, with `step` (the confirming
   * code's) already used. False when that enrolment is no longer pending: it
   * expired, was replaced by another beginTotp, or a concurrent confirm won.
   */
  async confirmEnrolment(m: EntityManager, accountId: number, sealedPending: string, step: number, now: Date): Promise<boolean> {
    const result = await execute(
      m,
      'UPDATE account_totp SET secret = pending_secret, enabled_at = ?, last_used_step = ?, pending_secret = NULL, pending_expires_at = NULL WHERE account_id = ? AND pending_secret = ? AND pending_expires_at > ?',
      [totpDate(m, 'enabledAt', now), step, accountId, sealedPending, totpDate(m, 'pendingExpiresAt', now)],
    );
    return result.affected === 1;
  }

  /** Spends `step` of the enabled secret: false when it (or a later one) was used already, so a code works once. */
  async useTotpStep(m: EntityManager, accountId: number, step: number): Promise<boolean> {
    const result = await execute(
      m,
      'UPDATE account_totp SET last_used_step = ? WHERE account_id = ? AND secret IS NOT NULL AND (last_used_step IS NULL OR last_used_step < ?)',
      [step, accountId, step],
    );
    return result.affected === 1;
  }

  /** False when TOTP was not enabled. */
  async disableTotp(m: EntityManager, accountId: number): Promise<boolean> {
    const result = await execute(m, 'DELETE FROM account_totp WHERE account_id = ? AND secret IS NOT NULL', [accountId]);
    return result.affected === 1;
  }

  async countRecoveryCodes(m: EntityManager, accountId: number): Promise<number> {
    const result = await execute(m, 'SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = ?', [accountId]);
    return Number(result.records[0]?.n ?? 0);
  }

  /** Every earlier code stops working. */
  async replaceRecoveryCodes(m: EntityManager, accountId: number, codeHashes: readonly string[], now: Date): Promise<void> {
    await this.deleteRecoveryCodes(m, accountId);
    const createdAt = toDatabase<RecoveryCodeRow>(m, 'RecoveryCode', 'createdAt', now);
    for (const codeHash of codeHashes) {
      await execute(m, 'INSERT INTO recovery_codes (account_id, code_hash, created_at) VALUES (?, ?, ?)', [accountId, codeHash, createdAt]);
    }
  }

  /** Uses the code up: true for exactly one of any number of concurrent uses. */
  async useRecoveryCode(m: EntityManager, accountId: number, codeHash: string): Promise<boolean> {
    const result = await execute(m, 'DELETE FROM recovery_codes WHERE account_id = ? AND code_hash = ?', [accountId, codeHash]);
    return result.affected === 1;
  }

  async deleteRecoveryCodes(m: EntityManager, accountId: number): Promise<number> {
    return (await execute(m, 'DELETE FROM recovery_codes WHERE account_id = ?', [accountId])).affected;
  }
}
