import type { Database } from '../db/database';
import type { AccountSummary, AdminReportRepository, ServerStats, WalletSummary } from '../db/repositories/admin-report.repository';
import type { WhitelistRepository } from '../db/repositories/whitelist.repository';
import type { Clock } from '../lib/clock';
import type { AccountService } from './account.service';
import { normalizeEmail } from './credentials.service';
import type { DeviceInfo, SessionService } from './session.service';
import type { VerificationService } from './verification.service';
import type { SecondFactorService } from './second-factor.service';

export interface AccountDetail {
  id: number;
  email: string;
  verified: boolean;
  createdAt: Date;
  devices: DeviceInfo[];
  wallet: WalletSummary | null;
}

export interface PurgeResult {
  authTokens: number;
  pendingRegistrations: number;
}

export interface AdminServiceDeps {
  db: Database;
  reports: AdminReportRepository;
  whitelist: WhitelistRepository;
  accounts: AccountService;
  sessions: SessionService;
  verification: VerificationService;
  secondFactors: SecondFactorService;
  clock: Clock;
}

/**
 * Why it exists: what an operator does to accounts without writing SQL. It goes
 * through the same services as the API wherever a rule applies (deleting an
 * account, revoking tokens and telling every instance, purging), so the command
 * line cannot do what the API would refuse or forget what the API would announce.
 */
export class AdminService {
  constructor(private readonly deps: AdminServiceDeps) {}

  listAccounts(options: { pendingOnly: boolean; limit: number }): Promise<AccountSummary[]> {
    return this.deps.db.run((m) => this.deps.reports.listAccounts(m, options));
  }

  /** Null when no account has this email. */
  async showAccount(email: string): Promise<AccountDetail | null> {
    const account = await this.deps.db.run((m) => this.deps.reports.findAccount(m, normalizeEmail(email)));
    if (!account) return null;
    const [devices, wallet] = await Promise.all([this.deps.sessions.devices(account.id), this.deps.db.run((m) => this.deps.reports.wallet(m, account.id))]);
    return { id: account.id, email: account.email, verified: account.verified, createdAt: account.createdAt, devices, wallet };
  }

  /** False when no account has this email. */
  async deleteAccount(email: string): Promise<boolean> {
    const account = await this.deps.db.run((m) => this.deps.reports.findAccount(m, normalizeEmail(email)));
    return account ? this.deps.accounts.deleteById(account.id) : false;
  }

  /** How many tokens stopped working (every device's, or `deviceId`'s); null when no account has this email. */
  async revokeTokens(email: string, deviceId?: string): Promise<number | null> {
    const account = await this.deps.db.run((m) => this.deps.reports.findAccount(m, normalizeEmail(email)));
    return account ? this.deps.sessions.revoke(account.id, deviceId) : null;
  }

  /**
   * Turns the account's second factor off, for an owner who lost every factor
   * and recovery code (after the operator checked who asks): through the same
   * service as disableTotp, so the security log and the owner's mail say so.
   * Null when no account has this email; false when it had no second factor.
   */
  async disableSecondFactor(email: string): Promise<{ id: number; email: string; disabled: boolean } | null> {
    const account = await this.deps.db.run((m) => this.deps.reports.findAccount(m, normalizeEmail(email)));
    if (!account) return null;
    return { id: account.id, email: account.email, disabled: await this.deps.secondFactors.disableByOperator(account.id) };
  }

  /** The normalized emails that were not on the list yet. */
  async whitelistAdd(emails: string[]): Promise<string[]> {
    const added: string[] = [];
    for (const emailNormalized of new Set(emails.map(normalizeEmail))) {
      if (await this.deps.db.run((m) => this.deps.whitelist.add(m, { emailNormalized, createdAt: this.deps.clock.now() }))) added.push(emailNormalized);
    }
    return added;
  }

  /** The normalized emails that were on the list (and are no more). */
  async whitelistRemove(emails: string[]): Promise<string[]> {
    const removed: string[] = [];
    for (const emailNormalized of new Set(emails.map(normalizeEmail))) {
      if (await this.deps.db.run((m) => this.deps.whitelist.remove(m, emailNormalized))) removed.push(emailNormalized);
    }
    return removed;
  }

  whitelistList(): Promise<Array<{ emailNormalized: string; createdAt: Date }>> {
    return this.deps.db.run((m) => this.deps.whitelist.list(m));
  }

  /** What the server's hourly maintenance purges, now. */
  async purge(): Promise<PurgeResult> {
    return { authTokens: await this.deps.sessions.purgeExpired(), pendingRegistrations: await this.deps.verification.purgeExpired() };
  }

  stats(): Promise<ServerStats> {
    return this.deps.db.run((m) => this.deps.reports.stats(m));
  }
}
