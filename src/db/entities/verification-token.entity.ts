import { EntitySchema } from 'typeorm';
import { dateTime } from './column-types';

/** The pending email-verification link of an unverified account: one per account, stored hashed. */
export interface VerificationTokenRow {
  accountId: number;
  tokenHash: string;
  createdAt: Date;
  expiresAt: Date;
}

export const VerificationTokenEntity = new EntitySchema<VerificationTokenRow>({
  name: 'VerificationToken',
  tableName: 'verification_tokens',
  columns: {
    accountId: { name: 'account_id', type: 'integer', primary: true },
    tokenHash: { name: 'token_hash', type: 'varchar', length: 64 },
    createdAt: { name: 'created_at', ...dateTime },
    expiresAt: { name: 'expires_at', ...dateTime },
  },
  indices: [
    { name: 'uq_verification_tokens_token_hash', columns: ['tokenHash'], unique: true },
    { name: 'ix_verification_tokens_expires_at', columns: ['expiresAt'] },
  ],
  foreignKeys: [
    { name: 'fk_verification_tokens_account', columnNames: ['account_id'], target: 'Account', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
  ],
});
