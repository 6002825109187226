import { EntitySchema } from 'typeorm';
import type { Dialect } from '../../config';
import { binaryCollation, dateTime } from './column-types';

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

export function whitelistEntryEntity(dialect: Dialect): EntitySchema<WhitelistEntryRow> {
  return new EntitySchema<WhitelistEntryRow>({
    name: WHITELIST_ENTRY,
    tableName: 'account_whitelist',
    columns: {
      emailNormalized: { name: 'email_normalized', type: 'varchar', length: 254, primary: true, ...binaryCollation(dialect) },
      createdAt: { name: 'created_at', ...dateTime },
    },
  });
}
