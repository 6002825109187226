import type { QueryRunner } from 'typeorm';

/**
 * No code can hash to this (a SHA-256 in hex has no hyphen): an account that
 * was unverified before protocol 2 becomes a pending registration whose owner
 * asks for a code with resendVerificationEmail.
 */
export const NO_CODE_YET = '-'.repeat(64);

/** How long a moved registration waits for its owner to ask for a code (VERIFY_TOKEN_TTL_HOURS' default). */
const MOVED_REGISTRATION_HOURS = 48;

/**
 * Unverified accounts were protocol 1's pending registrations: they move, with
 * their password hash, seed and key parameters, to pending_registrations. They
 * had no token and no wallet (login was refused until verification), so
 * nothing else goes with them.
 */
export async function moveUnverifiedAccounts(queryRunner: QueryRunner, quote: (name: string) => string): Promise<void> {
  const expiresAt = new Date(Date.now() + MOVED_REGISTRATION_HOURS * 3600_000).toISOString().replace('T', ' ').replace('Z', '');
  const columns = ['email', 'email_normalized', 'password_hash', 'client_salt_seed', 'key_n', 'key_r', 'key_p', 'created_at'].map(quote).join(', ');
  await queryRunner.query(
    `INSERT INTO ${quote('pending_registrations')} (${columns}, ${quote('code_hash')}, ${quote('expires_at')})
     SELECT ${columns}, ?, ? FROM ${quote('accounts')} WHERE ${quote('verified')} = ? ORDER BY ${quote('id')}`,
    [NO_CODE_YET, expiresAt, false],
  );
  await queryRunner.query(`DELETE FROM ${quote('accounts')} WHERE ${quote('verified')} = ?`, [false]);
}
