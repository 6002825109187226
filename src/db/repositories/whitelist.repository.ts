import type { EntityManager } from 'typeorm';
import { dialectOf } from '../dialects';
import { toDatabase } from './statements';
import { WHITELIST_ENTRY, type WhitelistEntryRow } from '../entities/whitelist-entry.entity';

/** The emails an operator allowed to register, beside ACCOUNT_WHITELIST; read at every registration, so a change counts at once everywhere. */
export class WhitelistRepository {
  /** False when the email was already on the list (adding twice is not an error). */
  async add(m: EntityManager, entry: WhitelistEntryRow): Promise<boolean> {
    return dialectOf(m).insertIfAbsent(m, 'account_whitelist', {
      email_normalized: entry.emailNormalized,
      created_at: toDatabase<WhitelistEntryRow>(m, WHITELIST_ENTRY, 'createdAt', entry.createdAt),
    });
  }

  async remove(m: EntityManager, emailNormalized: string): Promise<boolean> {
    return ((await m.delete<WhitelistEntryRow>(WHITELIST_ENTRY, { emailNormalized })).affected ?? 0) > 0;
  }

  async contains(m: EntityManager, emailNormalized: string): Promise<boolean> {
    return (await m.countBy<WhitelistEntryRow>(WHITELIST_ENTRY, { emailNormalized })) > 0;
  }

  list(m: EntityManager): Promise<WhitelistEntryRow[]> {
    return m.find<WhitelistEntryRow>(WHITELIST_ENTRY, { order: { emailNormalized: 'ASC' } });
  }
}
