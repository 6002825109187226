import type { EntityManager } from 'typeorm';
import { transactionSurvived, type Database } from '../db/database';
import type { AccountEventKind, LoginMethod, SecondFactorMethod } from '../db/entities/account-event.entity';
import type { AccountEventCursor, AccountEventEntry, AccountEventRepository } from '../db/repositories/account-event.repository';
import { DAY_MS, type Clock } from '../lib/clock';
import { networkPrefix } from '../lib/network-prefix';

export interface EventDetails {
  /** The client's address; only its network prefix is stored. */
  ip?: string;
  deviceId?: string | null;
  newDevice?: boolean;
  sequence?: number;
  /** LOGIN: how the device signed in. */
  loginMethod?: LoginMethod;
  /** SECOND_FACTOR_*: which method. */
  method?: SecondFactorMethod;
}

export type AccountEventData = Omit<AccountEventEntry, 'id'>;

/** One entry of the account's security log: what happened to which account, and its details. */
export type SecurityLogNote = EventDetails & { accountId: number; kind: AccountEventKind };

export interface ActivityLogDeps {
  db: Database;
  accountEvents: AccountEventRepository;
  clock: Clock;
  /** ACTIVITY_RETENTION_DAYS: how long an event is kept. */
  retentionDays: number;
  /** Where a failure to record is reported: the operation goes on. */
  reportError: (error: unknown, what: string) => void;
}

/**
 * Why it exists: the account's security log. Recording never fails the operation
 * it describes (a failure is logged instead), and is part of the operation's
 * transaction where there is one, so a rolled-back operation leaves no event.
 */
export class ActivityLog {
  constructor(private readonly deps: ActivityLogDeps) {}

  /** Inside the operation's transaction. Throws only when the transaction itself is gone. */
  async recordIn(m: EntityManager, note: SecurityLogNote): Promise<void> {
    try {
      await this.deps.accountEvents.insert(m, this.row(note));
    } catch (error) {
      if (!transactionSurvived(m, error)) throw error;
      this.deps.reportError(error, `recording ${note.kind} in the security log`);
    }
  }

  /** After an operation that has no transaction of its own. */
  async record(note: SecurityLogNote): Promise<void> {
    const { db, accountEvents, reportError } = this.deps;
    try {
      await db.run((m) => accountEvents.insert(m, this.row(note)));
    } catch (error) {
      reportError(error, `recording ${note.kind} in the security log`);
    }
  }

  /** Not awaited: where waiting for the write would show in the answer's timing (a failed login). */
  recordInBackground(note: SecurityLogNote): void {
    void this.record(note);
  }

  /** Newest first; `before`: the (at, rank within its millisecond) of the last event of the previous page. */
  async list(accountId: number, before: AccountEventCursor | null, limit: number): Promise<AccountEventData[]> {
    const { db, accountEvents } = this.deps;
    const rows = await db.run((m) => accountEvents.list(m, accountId, before, limit));
    return rows.map(({ id: _id, ...event }) => event);
  }

  async purgeExpired(): Promise<number> {
    const { db, accountEvents, clock, retentionDays } = this.deps;
    const cutoff = new Date(clock.now().getTime() - retentionDays * DAY_MS);
    return db.run((m) => accountEvents.purgeOlderThan(m, cutoff));
  }

  private row({ accountId, kind, ...details }: SecurityLogNote) {
    return {
      accountId,
      at: this.deps.clock.now(),
      kind,
      deviceId: details.deviceId ?? null,
      newDevice: details.newDevice ?? null,
      sequence: details.sequence ?? null,
      ipPrefix: networkPrefix(details.ip),
      loginMethod: details.loginMethod ?? null,
      method: details.method ?? null,
    };
  }
}
