import { EntitySchema } from 'typeorm';
import type { ColumnTypes } from '../dialects/dialect';

/**
 * One accepted wallet state of an account: its header, kept for good, and its
 * content while it is among the WALLET_VERSIONS_KEPT most recent (null once
 * dropped). A row is written in the transaction of the compare-and-set that
 * accepted the state, so a state exists here exactly when it was acknowledged.
 */
export interface WalletVersionRow {
  accountId: number;
  sequence: number;
  hmac: string;
  /** The device whose token wrote the state; null for changePassword (and states from before history existed). */
  deviceId: string | null;
  updatedAt: Date;
  /** UTF-8 size of the content, kept after the content is dropped. */
  bytes: number;
  encryptedWallet: string | null;
}

export function walletVersionEntity(columns: ColumnTypes): EntitySchema<WalletVersionRow> {
  return new EntitySchema<WalletVersionRow>({
    name: 'WalletVersion',
    tableName: 'wallet_versions',
    columns: {
      accountId: { name: 'account_id', type: 'integer', primary: true },
      sequence: { name: 'sequence', type: 'integer', primary: true },
      hmac: { name: 'hmac', type: 'varchar', length: 255 },
      deviceId: { name: 'device_id', type: 'varchar', length: 255, ...columns.nullable, ...columns.exact },
      updatedAt: { name: 'updated_at', ...columns.dateTime },
      bytes: { name: 'bytes', type: 'integer' },
      encryptedWallet: { name: 'encrypted_wallet', type: columns.longText, ...columns.nullable },
    },
    foreignKeys: [
      { name: 'fk_wallet_versions_account', columnNames: ['account_id'], target: 'Account', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
    ],
  });
}
