import type { EntityManager } from 'typeorm';
import { dialectOf } from '../dialects';
import type { AccountEventRow } from '../entities/account-event.entity';
import { execute, hydrate, toDatabase } from './statements';

export type NewAccountEvent = Omit<AccountEventRow, 'id'>;
/** An event as the log lists it, with its rank among the account's events of the same millisecond (0 for the first written). */
export type AccountEventEntry = Omit<AccountEventRow, 'accountId'> & { rankInMs: number };

/**
 * Where a page of the log starts: the events before the one that had this
 * rank among the account's events of millisecond `at`. Several events share a
 * millisecond (a login writes two; a fixed clock writes them all at once), so a
 * time alone would skip the rest of a millisecond a page ended in.
 */
export interface AccountEventCursor {
  at: Date;
  rankInMs: number;
}

/** The account's security log: appended to, read newest first, purged by age. */
export class AccountEventRepository {
  /** Recoverable (Dialect.recoverable): a log entry that cannot be written must not take the operation's transaction with it. */
  async insert(m: EntityManager, event: NewAccountEvent): Promise<void> {
    const sql = 'INSERT INTO account_events (account_id, at, kind, device_id, new_device, sequence, ip_prefix, login_method, method) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';
    await dialectOf(m).recoverable(m, () => execute(m, sql, [
      event.accountId,
      toDatabase<AccountEventRow>(m, 'AccountEvent', 'at', event.at),
      event.kind,
      event.deviceId,
      event.newDevice === null ? null : toDatabase<AccountEventRow>(m, 'AccountEvent', 'newDevice', event.newDevice),
      event.sequence,
      event.ipPrefix,
      event.loginMethod,
      event.method,
    ]));
  }

  /** Newest first, by (at, id); only events before the cursor when it is given. */
  async list(m: EntityManager, accountId: number, before: AccountEventCursor | null, limit: number): Promise<AccountEventEntry[]> {
    const rank = '(SELECT COUNT(*) FROM account_events same WHERE same.account_id = e.account_id AND same.at = e.at AND same.id < e.id)';
    const columns = `id, at, kind, device_id AS deviceId, new_device AS newDevice, sequence, ip_prefix AS ipPrefix, login_method AS loginMethod, method, ${rank} AS rankInMs`;
    let where = 'account_id = ?';
    const parameters: unknown[] = [accountId];
    if (before) {
      const at = toDatabase<AccountEventRow>(m, 'AccountEvent', 'at', before.at);
      // The id of the cursor's event: the events of its millisecond written before it come after it in the log.
      const cursor = before.rankInMs > 0 ? await execute(m, 'SELECT id FROM account_events WHERE account_id = ? AND at = ? ORDER BY id LIMIT 1 OFFSET ?', [accountId, at, before.rankInMs]) : undefined;
      const cursorId = cursor?.records?.[0]?.id;
      if (before.rankInMs === 0) {
        where += ' AND at < ?';
        parameters.push(at);
      } else if (cursorId === undefined) {
        // The millisecond holds fewer events than the rank: every one of them is before the cursor.
        where += ' AND at <= ?';
        parameters.push(at);
      } else {
        where += ' AND (at < ? OR (at = ? AND id < ?))';
        parameters.push(at, at, cursorId);
      }
    }
    const result = await execute(m, `SELECT ${columns} FROM account_events e WHERE ${where} ORDER BY at DESC, id DESC LIMIT ?`, [...parameters, limit]);
    return ((result.records ?? []) as Array<Record<string, unknown>>).map((row) => {
      const entry = hydrate<AccountEventEntry>(m, 'AccountEvent', row);
      // COUNT(*) is a bigint: mysql2 answers it as a string.
      entry.rankInMs = Number(row.rankInMs);
      return entry;
    });
  }

  async purgeOlderThan(m: EntityManager, cutoff: Date): Promise<number> {
    const result = await execute(m, 'DELETE FROM account_events WHERE at < ?', [toDatabase<AccountEventRow>(m, 'AccountEvent', 'at', cutoff)]);
    return result.affected ?? 0;
  }
}
