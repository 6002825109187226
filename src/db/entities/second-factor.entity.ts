import { EntitySchema } from 'typeorm';
import type { ColumnTypes } from '../dialects/dialect';

/**
 * An account's TOTP: the enabled secret, the last step a code was accepted for
 * (a step once used is refused: no replay), and an enrolment in progress
 * (beginTotp → confirmTotp), which replaces nothing until it is confirmed and
 * lapses at pendingExpiresAt. Secrets are sealed (lib/secret-box) under a key
 * derived from SERVER_SECRET, never stored in the clear.
 */
export interface TotpRow {
  accountId: number;
  /** Null while only an enrolment is pending. */
  secret: string | null;
  enabledAt: Date | null;
  lastUsedStep: number | null;
  pendingSecret: string | null;
  pendingExpiresAt: Date | null;
}

export function totpEntity(columns: ColumnTypes): EntitySchema<TotpRow> {
  return new EntitySchema<TotpRow>({
    name: 'Totp',
    tableName: 'account_totp',
    columns: {
      accountId: { name: 'account_id', type: 'integer', primary: true },
      secret: { name: 'secret', type: 'varchar', length: 255, ...columns.nullable },
      enabledAt: { name: 'enabled_at', ...columns.dateTime, ...columns.nullable },
      lastUsedStep: { name: 'last_used_step', type: 'integer', ...columns.nullable },
      pendingSecret: { name: 'pending_secret', type: 'varchar', length: 255, ...columns.nullable },
      pendingExpiresAt: { name: 'pending_expires_at', ...columns.dateTime, ...columns.nullable },
    },
    foreignKeys: [{ name: 'fk_account_totp_account', columnNames: ['account_id'], target: 'Account', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
  });
}

/** One unused recovery code of an account, as a keyed hash (lib/recovery-codes); a used code's row is deleted. */
export interface RecoveryCodeRow {
  accountId: number;
  codeHash: string;
  createdAt: Date;
}

export function recoveryCodeEntity(columns: ColumnTypes): EntitySchema<RecoveryCodeRow> {
  return new EntitySchema<RecoveryCodeRow>({
    name: 'RecoveryCode',
    tableName: 'recovery_codes',
    columns: {
      accountId: { name: 'account_id', type: 'integer', primary: true },
      codeHash: { name: 'code_hash', type: 'varchar', length: 64, primary: true, ...columns.exact },
      createdAt: { name: 'created_at', ...columns.dateTime },
    },
    foreignKeys: [
      { name: 'fk_recovery_codes_account', columnNames: ['account_id'], target: 'Account', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
    ],
  });
}
