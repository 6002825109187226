import { EntitySchema } from 'typeorm';
import type { ColumnTypes } from '../dialects/dialect';

/**
 * Every deviceId that ever logged in to the account. Tokens come and go (logout,
 * revocation, expiry) and the log is purged, so "is this a new device?" needs a
 * memory of its own.
 */
export interface KnownDeviceRow {
  accountId: number;
  deviceId: string;
  firstLoginAt: Date;
}

export function knownDeviceEntity(columns: ColumnTypes): EntitySchema<KnownDeviceRow> {
  return new EntitySchema<KnownDeviceRow>({
    name: 'KnownDevice',
    tableName: 'known_devices',
    columns: {
      accountId: { name: 'account_id', type: 'integer', primary: true },
      deviceId: { name: 'device_id', type: 'varchar', length: 255, primary: true, ...columns.exact },
      firstLoginAt: { name: 'first_login_at', ...columns.dateTime },
    },
    foreignKeys: [
      { name: 'fk_known_devices_account', columnNames: ['account_id'], target: 'Account', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
    ],
  });
}
