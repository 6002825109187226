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

/**
 * Why it exists: the account's security log. Recording never fails the operation
 * it describes (a failure is logged instead), and is part of the operation's
 * transaction where there is one, so a rolled-back operation leaves no event.
 */
export class ActivityLog {
  constructor(
    private readonly db: Database,
    private readonly accountEvents: AccountEventRepository,
    private readonly clock: Clock,
    /** ACTIVITY_RETENTION_DAYS: how long an event is kept. */
    private readonly retentionDays: number,
    /** Where a failure to record is reported: the operation goes on. */
    private readonly reportError: (error: unknown, what: string) => void,
  ) {}

  /** Inside the operation's transaction. Throws only when the transaction itself is gone. */
  async recordIn(m: EntityManager, accountId: number, kind: AccountEventKind, details: EventDetails = {}): Promise<void> {
    try {
      await this.accountEvents.insert(m, this.row(accountId, kind, details));
    } catch (error) {
      if (!transactionSurvived(m, error)) throw error;
      this.reportError(error, `recording ${kind} in the security log`);
    }
  }

  /** After an operation that has no transaction of its own. */
  async record(accountId: number, kind: AccountEventKind, details: EventDetails = {}): Promise<void> {
    try {
      await this.db.run((m) => this.accountEvents.insert(m, this.row(accountId, kind, details)));
    } catch (error) {
      this.reportError(error, `recording ${kind} in the security log`);
    }
  }

  /** Not awaited: where waiting for the write would show in the answer's timing (a failed login). */
  recordInBackground(accountId: number, kind: AccountEventKind, details: EventDetails = {}): void {
    void this.record(accountId, kind, details);
  }

  /** Newest first; `before`: the (at, rank within its millisecond) of the last event of the previous page. */
  async list(accountId: number, before: AccountEventCursor | null, limit: number): Promise<AccountEventData[]> {
    const rows = await this.db.run((m) => this.accountEvents.list(m, accountId, before, limit));
    return rows.map(({ id: _id, ...event }) => event);
  }

  async purgeExpired(): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - this.retentionDays * DAY_MS);
    return this.db.run((m) => this.accountEvents.purgeOlderThan(m, cutoff));
  }

  private row(accountId: number, kind: AccountEventKind, details: EventDetails) {
    return {
      accountId,
      at: this.clock.now(),
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
