import type { QueryRunner } from 'typeorm';
import { normalizeEmail } from '../../lib/email';

/**
 * Recomputes accounts.email_normalized from the email as given, with protocol
 * 2's NFC + lower-case rule (the keys were lower-cased only). Two accounts may now claim the same key (the same
 * address typed once precomposed and once decomposed, possible where keys compared bytes). No
 * account is deleted or merged: the one already holding the key keeps it,
 * otherwise the oldest (lowest id) takes it; any other keeps its previous key,
 * which no login can reach any more (logins look up the NFC form). Its row,
 * wallet and tokens stay for the operator, who is warned with the ids.
 */
export async function renormalizeEmails(queryRunner: QueryRunner, quote: (name: string) => string): Promise<void> {
  const rows: Array<{ id: number | string; email: string; email_normalized: string }> = await queryRunner.query(
    `SELECT ${quote('id')}, ${quote('email')}, ${quote('email_normalized')} FROM ${quote('accounts')} ORDER BY ${quote('id')}`,
  );
  const taken = new Set(rows.map((row) => row.email_normalized));
  const stranded: string[] = [];
  for (const row of rows) {
    const key = normalizeEmail(row.email);
    if (key === row.email_normalized) continue;
    if (taken.has(key)) {
      stranded.push(String(row.id));
      continue;
    }
    await queryRunner.query(`UPDATE ${quote('accounts')} SET ${quote('email_normalized')} = ? WHERE ${quote('id')} = ?`, [key, row.id]);
    taken.delete(row.email_normalized);
    taken.add(key);
  }
  if (stranded.length > 0) {
    process.emitWarning(
      `accounts ${stranded.join(', ')} share their normalized email with another account and keep their previous key: ` +
        'they cannot log in any more, and their data is kept (see SECURITY.md, "Emails that collide after normalization")',
      { code: 'WALLET_SYNC_EMAIL_COLLISION' },
    );
  }
}
