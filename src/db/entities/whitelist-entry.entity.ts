import { EntitySchema } from 'typeorm';
import type { ColumnTypes } from '../dialects/dialect';

/**
 * An email allowed to register in Whitelist mode, kept in the database so that an
 * administrator's change reaches every instance at once (ACCOUNT_WHITELIST still counts too).
 */
export interface WhitelistEntryRow {
  /** Normalized as accounts.email_normalized is, and compared byte for byte. */
  emailNormalized: string;
  createdAt: Date;
}

export const WHITELIST_ENTRY = 'WhitelistEntry';

export function whitelistEntryEntity(columns: ColumnTypes): EntitySchema<WhitelistEntryRow> {
  return new EntitySchema<WhitelistEntryRow>({
    name: WHITELIST_ENTRY,
    tableName: 'account_whitelist',
    columns: {
      emailNormalized: { name: 'email_normalized', type: 'varchar', length: 254, primary: true, ...columns.exact },
      createdAt: { name: 'created_at', ...columns.dateTime },
    },
  });
}
