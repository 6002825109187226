import { EntitySchema } from 'typeorm';
import type { Dialect } from '../../config';
import { binaryCollation, dateTime } from './column-types';

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

export function knownDeviceEntity(dialect: Dialect): EntitySchema<KnownDeviceRow> {
  return new EntitySchema<KnownDeviceRow>({
    name: 'KnownDevice',
    tableName: 'known_devices',
    columns: {
      accountId: { name: 'account_id', type: 'integer', primary: true },
      deviceId: { name: 'device_id', type: 'varchar', length: 255, primary: true, ...binaryCollation(dialect) },
      firstLoginAt: { name: 'first_login_at', ...dateTime },
    },
    foreignKeys: [
      { name: 'fk_known_devices_account', columnNames: ['account_id'], target: 'Account', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
    ],
  });
}
