import { EntitySchema } from 'typeorm';
import { dateTime } from './column-types';

/**
 * An email allowed to register in Whitelist mode, kept in the database so that an
 * administrator's change reaches every instance at once (ACCOUNT_WHITELIST still counts too).
 */
export interface WhitelistEntryRow {
  /** Normalized as accounts.email_normalized is; compared byte for byte (utf8mb4_bin on MySQL, set by the migration). */
  emailNormalized: string;
  createdAt: Date;
}

export const WhitelistEntryEntity = new EntitySchema<WhitelistEntryRow>({
  name: 'WhitelistEntry',
  tableName: 'account_whitelist',
  columns: {
    emailNormalized: { name: 'email_normalized', type: 'varchar', length: 254, primary: true },
    createdAt: { name: 'created_at', ...dateTime },
  },
});
