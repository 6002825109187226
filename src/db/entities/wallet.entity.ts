import { EntitySchema } from 'typeorm';
import type { ColumnTypes } from '../dialects/dialect';

export interface WalletRow {
  accountId: number;
  encryptedWallet: string;
  hmac: string;
  /** The wallet's version: every accepted upload is exactly the previous sequence + 1. */
  sequence: number;
  updatedAt: Date;
}

/** The wallet blob needs up to MAX_WALLET_BYTES: a long text, whatever the database calls it. */
export function walletEntity(columns: ColumnTypes): EntitySchema<WalletRow> {
  return new EntitySchema<WalletRow>({
    name: 'Wallet',
    tableName: 'wallets',
    columns: {
      accountId: { name: 'account_id', type: 'integer', primary: true },
      encryptedWallet: { name: 'encrypted_wallet', type: columns.longText },
      hmac: { name: 'hmac', type: 'varchar', length: 255 },
      sequence: { name: 'sequence', type: 'integer', version: true },
      updatedAt: { name: 'updated_at', ...columns.dateTime },
    },
    foreignKeys: [{ name: 'fk_wallets_account', columnNames: ['account_id'], target: 'Account', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
  });
}
