import { EntitySchema } from 'typeorm';
import { dateTime } from './column-types';

export interface AccountRow {
  id: number;
  /** As the user typed it; shown back in `me`. */
  email: string;
  /**
   * The account's identity: the email in NFC, lower-cased (lib/email). Compared
   * byte for byte: utf8mb4_nopad_bin on MySQL (set by migration; TypeORM neither
   * compares nor needs collations, and SQLite has only BINARY, its default).
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

export const AccountEntity = new EntitySchema<AccountRow>({
  name: 'Account',
  tableName: 'accounts',
  columns: {
    id: { name: 'id', type: 'integer', primary: true, generated: 'increment' },
    email: { name: 'email', type: 'varchar', length: 254 },
    emailNormalized: { name: 'email_normalized', type: 'varchar', length: 254 },
    passwordHash: { name: 'password_hash', type: 'varchar', length: 255 },
    clientSaltSeed: { name: 'client_salt_seed', type: 'varchar', length: 64 },
    verified: { name: 'verified', type: 'boolean' },
    // The defaults are protocol 1's parameters, which every older row carries; inserts always set them.
    keyN: { name: 'key_n', type: 'integer', default: 1048576 },
    keyR: { name: 'key_r', type: 'integer', default: 8 },
    keyP: { name: 'key_p', type: 'integer', default: 1 },
    createdAt: { name: 'created_at', ...dateTime },
  },
  indices: [{ name: 'uq_accounts_email_normalized', columns: ['emailNormalized'], unique: true }],
});
