import { EntitySchema } from 'typeorm';
import type { ColumnTypes } from '../dialects/dialect';

export const ACCOUNT_EVENT_KINDS = [
  'REGISTERED',
  'VERIFIED',
  'LOGIN',
  'LOGIN_FAILED',
  'LOGOUT',
  'DEVICE_REVOKED',
  'PASSWORD_CHANGED',
  'WALLET_UPDATED',
  'SECOND_FACTOR_ENABLED',
  'SECOND_FACTOR_DISABLED',
  'SECOND_FACTOR_FAILED',
  'RECOVERY_CODE_USED',
  'PASSKEY_ADDED',
  'PASSKEY_REMOVED',
] as const;
export type AccountEventKind = (typeof ACCOUNT_EVENT_KINDS)[number];

/** How a device signed in (LOGIN events). */
export const LOGIN_METHODS = ['PASSWORD', 'PASSWORD_AND_TOTP', 'PASSWORD_AND_WEBAUTHN', 'PASSWORD_AND_RECOVERY_CODE', 'PASSKEY'] as const;
export type LoginMethod = (typeof LOGIN_METHODS)[number];

export const SECOND_FACTOR_METHODS = ['TOTP', 'WEBAUTHN', 'RECOVERY_CODE'] as const;
export type SecondFactorMethod = (typeof SECOND_FACTOR_METHODS)[number];

/** One entry of the account's security log; purged ACTIVITY_RETENTION_DAYS after `at`. */
export interface AccountEventRow {
  id: number;
  accountId: number;
  at: Date;
  kind: AccountEventKind;
  deviceId: string | null;
  /** LOGIN only: the deviceId had never logged in to the account before. */
  newDevice: boolean | null;
  /** WALLET_UPDATED only. */
  sequence: number | null;
  /** The client's network (IPv4 /24, IPv6 /48); never the full address. */
  ipPrefix: string | null;
  /** LOGIN only (null for logins recorded before protocol 3 told them apart). */
  loginMethod: LoginMethod | null;
  /** SECOND_FACTOR_* only: which method. */
  method: SecondFactorMethod | null;
}

export function accountEventEntity(columns: ColumnTypes): EntitySchema<AccountEventRow> {
  return new EntitySchema<AccountEventRow>({
    name: 'AccountEvent',
    tableName: 'account_events',
    columns: {
      id: { name: 'id', type: 'integer', primary: true, generated: 'increment' },
      accountId: { name: 'account_id', type: 'integer' },
      at: { name: 'at', ...columns.dateTime },
      kind: { name: 'kind', type: 'varchar', length: 32 },
      deviceId: { name: 'device_id', type: 'varchar', length: 255, ...columns.nullable, ...columns.exact },
      newDevice: { name: 'new_device', type: 'boolean', ...columns.nullable },
      sequence: { name: 'sequence', type: 'integer', ...columns.nullable },
      ipPrefix: { name: 'ip_prefix', type: 'varchar', length: 64, ...columns.nullable },
      loginMethod: { name: 'login_method', type: 'varchar', length: 32, ...columns.nullable },
      method: { name: 'method', type: 'varchar', length: 16, ...columns.nullable },
    },
    indices: [
      // The log is read newest first per account, and purged by age.
      { name: 'ix_account_events_account_at', columns: ['accountId', 'at'] },
      { name: 'ix_account_events_at', columns: ['at'] },
    ],
    foreignKeys: [
      { name: 'fk_account_events_account', columnNames: ['account_id'], target: 'Account', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
    ],
  });
}
