import { EntitySchema } from 'typeorm';
import type { Dialect } from '../../config';
import { dateTime } from './column-types';

export interface WalletRow {
  accountId: number;
  encryptedWallet: string;
  hmac: string;
  /** The wallet's version: every accepted upload is exactly the previous sequence + 1. */
  sequence: number;
  updatedAt: Date;
}

/**
 * The wallet blob needs up to MAX_WALLET_BYTES: MySQL's TEXT stops at 64 KiB, so
 * MySQL gets LONGTEXT while SQLite's TEXT has no such limit. That is the only
 * dialect-specific column, hence a factory.
 */
export function walletEntity(dialect: Dialect): EntitySchema<WalletRow> {
  return new EntitySchema<WalletRow>({
    name: 'Wallet',
    tableName: 'wallets',
    columns: {
      accountId: { name: 'account_id', type: 'integer', primary: true },
      encryptedWallet: { name: 'encrypted_wallet', type: dialect === 'mysql' ? 'longtext' : 'text' },
      hmac: { name: 'hmac', type: 'varchar', length: 255 },
      sequence: { name: 'sequence', type: 'integer', version: true },
      updatedAt: { name: 'updated_at', ...dateTime },
    },
    foreignKeys: [{ name: 'fk_wallets_account', columnNames: ['account_id'], target: 'Account', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
  });
}
