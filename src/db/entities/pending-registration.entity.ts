import { EntitySchema, type EntityTarget } from 'typeorm';
import type { ColumnTypes } from '../dialects/dialect';

/**
 * A registration in EmailVerify mode that nobody has confirmed yet. It is not
 * an account: it becomes one only at the first login that carries its code and
 * its password (PROTOCOL.md, "Account verification modes"). Several may wait
 * for one email (at most five); the code is stored hashed.
 */
export interface PendingRegistrationRow {
  id: number;
  email: string;
  /** As accounts.email_normalized, compared byte for byte (ColumnTypes.exact). */
  emailNormalized: string;
  passwordHash: string;
  clientSaltSeed: string;
  keyN: number;
  keyR: number;
  keyP: number;
  /** SHA-256 (hex) of the code in its canonical form (upper case, no hyphen). */
  codeHash: string;
  createdAt: Date;
  expiresAt: Date;
}

/** The entity's name: its schema's columns come from the dialect (pendingRegistrationEntity). */
export const PendingRegistrationEntity: EntityTarget<PendingRegistrationRow> = 'PendingRegistration';

export function pendingRegistrationEntity(columns: ColumnTypes): EntitySchema<PendingRegistrationRow> {
  return new EntitySchema<PendingRegistrationRow>({
    name: 'PendingRegistration',
    tableName: 'pending_registrations',
    columns: {
      id: { name: 'id', type: 'integer', primary: true, generated: 'increment' },
      email: { name: 'email', type: 'varchar', length: 254 },
      emailNormalized: { name: 'email_normalized', type: 'varchar', length: 254, ...columns.exact },
      passwordHash: { name: 'password_hash', type: 'varchar', length: 255 },
      clientSaltSeed: { name: 'client_salt_seed', type: 'varchar', length: 64 },
      keyN: { name: 'key_n', type: 'integer' },
      keyR: { name: 'key_r', type: 'integer' },
      keyP: { name: 'key_p', type: 'integer' },
      codeHash: { name: 'code_hash', type: 'varchar', length: 64, ...columns.exact },
      createdAt: { name: 'created_at', ...columns.dateTime },
      expiresAt: { name: 'expires_at', ...columns.dateTime },
    },
    indices: [
      { name: 'ix_pending_registrations_email_normalized', columns: ['emailNormalized'] },
      { name: 'ix_pending_registrations_expires_at', columns: ['expiresAt'] },
    ],
  });
}
