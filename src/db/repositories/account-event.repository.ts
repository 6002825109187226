import type { EntityManager } from 'typeorm';
import { dialectOf } from '../dialects';
import type { AccountEventRow } from '../entities/account-event.entity';
import { execute, hydrate, toDatabase } from './statements';

export type NewAccountEvent = Omit<AccountEventRow, 'id'>;
export type AccountEventEntry = Omit<AccountEventRow, 'accountId'>;

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

  /** Newest first; only events strictly older than `before` when it is given. */
  async list(m: EntityManager, accountId: number, before: Date | null, limit: number): Promise<AccountEventEntry[]> {
    const columns = 'id, at, kind, device_id AS deviceId, new_device AS newDevice, sequence, ip_prefix AS ipPrefix, login_method AS loginMethod, method';
    const result = before
      ? await execute(m, `SELECT ${columns} FROM account_events WHERE account_id = ? AND at < ? ORDER BY at DESC, id DESC LIMIT ?`, [
          accountId,
          toDatabase<AccountEventRow>(m, 'AccountEvent', 'at', before),
          limit,
        ])
      : await execute(m, `SELECT ${columns} FROM account_events WHERE account_id = ? ORDER BY at DESC, id DESC LIMIT ?`, [accountId, limit]);
    return ((result.records ?? []) as Array<Record<string, unknown>>).map((row) => hydrate<AccountEventEntry>(m, 'AccountEvent', row));
  }

  async purgeOlderThan(m: EntityManager, cutoff: Date): Promise<number> {
    const result = await execute(m, 'DELETE FROM account_events WHERE at < ?', [toDatabase<AccountEventRow>(m, 'AccountEvent', 'at', cutoff)]);
    return result.affected ?? 0;
  }
}
