import { EntitySchema, type EntityTarget } from 'typeorm';
import type { ColumnTypes } from '../dialects/dialect';

export interface AccountRow {
  id: number;
  /** As the user typed it; shown back in `me`. */
  email: string;
  /**
   * The account's identity: the email in NFC, lower-cased (lib/email). Compared
   * byte for byte (ColumnTypes.exact).
   */
  emailNormalized: string;
  passwordHash: string;
  clientSaltSeed: string;
  verified: boolean;
  /** The scrypt parameters the account's devices derive with (lib/key-params). */
  keyN: number;
  keyR: number;
  keyP: number;
  createdAt: Date;
}

/** The entity's name: its schema's columns come from the dialect (accountEntity). */
export const AccountEntity: EntityTarget<AccountRow> = 'Account';

export function accountEntity(columns: ColumnTypes): EntitySchema<AccountRow> {
  return new EntitySchema<AccountRow>({
    name: 'Account',
    tableName: 'accounts',
    columns: {
      id: { name: 'id', type: 'integer', primary: true, generated: 'increment' },
      email: { name: 'email', type: 'varchar', length: 254 },
      emailNormalized: { name: 'email_normalized', type: 'varchar', length: 254, ...columns.exact },
      passwordHash: { name: 'password_hash', type: 'varchar', length: 255 },
      clientSaltSeed: { name: 'client_salt_seed', type: 'varchar', length: 64 },
      verified: { name: 'verified', type: 'boolean' },
      // The defaults are protocol 1's parameters, which every older row carries; inserts always set them.
      keyN: { name: 'key_n', type: 'integer', default: 1048576 },
      keyR: { name: 'key_r', type: 'integer', default: 8 },
      keyP: { name: 'key_p', type: 'integer', default: 1 },
      createdAt: { name: 'created_at', ...columns.dateTime },
    },
    indices: [{ name: 'uq_accounts_email_normalized', columns: ['emailNormalized'], unique: true }],
  });
}
