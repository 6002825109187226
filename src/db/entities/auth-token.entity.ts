import { EntitySchema, type EntityTarget } from 'typeorm';
import type { ColumnTypes } from '../dialects/dialect';

export interface AuthTokenRow {
  id: number;
  accountId: number;
  /** Compared exactly, case included (ColumnTypes.exact, as token_hash). */
  deviceId: string;
  /** SHA-256 (hex) of the token: a stolen database yields no usable token. */
  tokenHash: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
}

/** The entity's name: its schema's columns come from the dialect (authTokenEntity). */
export const AuthTokenEntity: EntityTarget<AuthTokenRow> = 'AuthToken';

export function authTokenEntity(columns: ColumnTypes): EntitySchema<AuthTokenRow> {
  return new EntitySchema<AuthTokenRow>({
    name: 'AuthToken',
    tableName: 'auth_tokens',
    columns: {
      id: { name: 'id', type: 'integer', primary: true, generated: 'increment' },
      accountId: { name: 'account_id', type: 'integer' },
      deviceId: { name: 'device_id', type: 'varchar', length: 255, ...columns.exact },
      tokenHash: { name: 'token_hash', type: 'varchar', length: 64, ...columns.exact },
      createdAt: { name: 'created_at', ...columns.dateTime },
      lastUsedAt: { name: 'last_used_at', ...columns.dateTime },
      expiresAt: { name: 'expires_at', ...columns.dateTime },
    },
    indices: [
      { name: 'uq_auth_tokens_token_hash', columns: ['tokenHash'], unique: true },
      // One token per device: logging in again from a device replaces its token.
      { name: 'uq_auth_tokens_account_device', columns: ['accountId', 'deviceId'], unique: true },
      { name: 'ix_auth_tokens_expires_at', columns: ['expiresAt'] },
    ],
    foreignKeys: [{ name: 'fk_auth_tokens_account', columnNames: ['account_id'], target: 'Account', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
  });
}
