import type { EntityManager } from 'typeorm';
import { isDuplicateKey } from '../database';
import { WhitelistEntryEntity, type WhitelistEntryRow } from '../entities/whitelist-entry.entity';

/** The emails an operator allowed to register, beside ACCOUNT_WHITELIST; read at every registration, so a change counts at once everywhere. */
export class WhitelistRepository {
  /** False when the email was already on the list (adding twice is not an error). */
  async add(m: EntityManager, entry: WhitelistEntryRow): Promise<boolean> {
    try {
      await m.insert(WhitelistEntryEntity, entry);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  async remove(m: EntityManager, emailNormalized: string): Promise<boolean> {
    return ((await m.delete(WhitelistEntryEntity, { emailNormalized })).affected ?? 0) > 0;
  }

  async contains(m: EntityManager, emailNormalized: string): Promise<boolean> {
    return (await m.countBy(WhitelistEntryEntity, { emailNormalized })) > 0;
  }

  list(m: EntityManager): Promise<WhitelistEntryRow[]> {
    return m.find(WhitelistEntryEntity, { order: { emailNormalized: 'ASC' } });
  }
}
