import type { Database } from '../db/database';
import type { AccountRow } from '../db/entities/account.entity';
import type { AccountRepository } from '../db/repositories/account.repository';
import { accountNotVerified, wrongCredentials } from '../errors';
import type { PasswordHasher } from '../lib/password';
import type { RateLimits } from '../lib/rate-limits';
import type { VerificationService } from './verification.service';
import { normalizeEmail } from '../lib/email';
import type { ActivityLog } from './activity.service';

export { normalizeEmail } from '../lib/email';

/**
 * Why it exists: every operation that takes a password (login, changePassword,
 * deleteAccount) checks it the same way, pending registrations included. Any mismatch is the same
 * UNAUTHENTICATED after the same argon2 work, so neither the message nor the
 * timing tells whether the email has an account; verification is checked only
 * once the password is right, for the same reason; failures are counted
 * against the account and the IP.
 */
export class CredentialsService {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountRepository,
    private readonly hasher: PasswordHasher,
    private readonly limits: RateLimits,
    private readonly activity: ActivityLog,
    private readonly verification: VerificationService,
  ) {}

  /**
   * The account for these credentials, or UNAUTHENTICATED / ACCOUNT_NOT_VERIFIED / RATE_LIMITED.
   * An email without an account may have pending registrations (EmailVerify):
   * with `verificationCode` the one it belongs to becomes the account when the
   * password is that registration's; without it, the newest one's password
   * answers ACCOUNT_NOT_VERIFIED. A wrong code is a failed password attempt, and
   * only a confirmation clears the failures.
   * Every path pays exactly one argon2 verification.
   */
  async verify(email: string, password: string, ip: string, verificationCode?: string): Promise<AccountRow> {
    const emailNormalized = normalizeEmail(email);
    await this.assertMayTry(emailNormalized, ip);
    const account = await this.db.run((m) => this.accounts.findByEmail(m, emailNormalized));
    if (account) return this.check(account, password, ip);

    const pending = await this.verification.live(emailNormalized);
    const registration = verificationCode === undefined ? pending[0] : this.verification.matchCode(pending, verificationCode);
    if (!registration) {
      await this.hasher.verifyAgainstDummy(password);
      return this.failed(emailNormalized, ip);
    }
    if (!(await this.hasher.verify(registration.passwordHash, password))) return this.failed(emailNormalized, ip);
    // Only a confirmation clears the failures: a pending registration's password is the registrant's choice,
    // so its match alone proves nothing, and clearing on it would reset the lock-out on code guesses.
    if (verificationCode === undefined) throw accountNotVerified();
    const created = await this.verification.confirm(registration, ip);
    if (!created) throw wrongCredentials();
    await this.limits.recordPasswordSuccess(emailNormalized);
    return created;
  }

  /** Refuses early (before any argon2 work) an account or IP that has used up its failed attempts. */
  async assertMayTry(emailNormalized: string, ip: string): Promise<void> {
    await this.limits.assertNotExhausted('passwordFailuresPerAccount', emailNormalized);
    await this.limits.assertNotExhausted('loginFailuresPerIp', ip);
  }

  /** The password check of a known account, with its failures counted against the account and the IP. */
  async check(account: AccountRow, password: string, ip: string): Promise<AccountRow> {
    if (!(await this.hasher.verify(account.passwordHash, password))) {
      // In the background: waiting for the write would make a known email's failure slower than an unknown one's.
      this.activity.recordInBackground(account.id, 'LOGIN_FAILED', { ip });
      return this.failed(account.emailNormalized, ip);
    }
    await this.limits.recordPasswordSuccess(account.emailNormalized);
    if (!account.verified) throw accountNotVerified();
    return account;
  }

  private async failed(emailNormalized: string, ip: string): Promise<never> {
    await Promise.all([this.limits.recordPasswordFailure(emailNormalized), this.limits.recordFailure('loginFailuresPerIp', ip)]);
    throw wrongCredentials();
  }
}
