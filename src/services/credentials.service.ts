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

export interface CredentialsServiceDeps {
  db: Database;
  accounts: AccountRepository;
  hasher: PasswordHasher;
  limits: RateLimits;
  activity: ActivityLog;
  /** An email without an account may have pending registrations (EmailVerify): their passwords count too. */
  verification: VerificationService;
}

/** A password presented for an email, from the client's address; EmailVerify's code with it when it has one. */
export interface PasswordAttempt {
  email: string;
  password: string;
  ip: string;
  verificationCode?: string;
}

/**
 * Why it exists: every operation that takes a password (login, changePassword,
 * deleteAccount) checks it the same way, pending registrations included. Any mismatch is the same
 * UNAUTHENTICATED after the same argon2 work, so neither the message nor the
 * timing tells whether the email has an account; verification is checked only
 * once the password is right, for the same reason; failures are counted
 * against the account and the IP.
 */
export class CredentialsService {
  constructor(private readonly deps: CredentialsServiceDeps) {}

  /**
   * The account for these credentials, or UNAUTHENTICATED / ACCOUNT_NOT_VERIFIED / RATE_LIMITED.
   * An email without an account may have pending registrations (EmailVerify):
   * with `verificationCode` the one it belongs to becomes the account when the
   * password is that registration's; without it, the newest one's password
   * answers ACCOUNT_NOT_VERIFIED. A wrong code is a failed password attempt, and
   * only a confirmation clears the failures.
   * Every path pays exactly one argon2 verification.
   */
  async verify({ email, password, ip, verificationCode }: PasswordAttempt): Promise<AccountRow> {
    const { db, accounts, hasher, limits, verification } = this.deps;
    const emailNormalized = normalizeEmail(email);
    await this.assertMayTry({ emailNormalized, ip });
    const account = await db.run((m) => accounts.findByEmail(m, emailNormalized));
    if (account) return this.check({ account, password, ip });

    const pending = await verification.live(emailNormalized);
    const registration = verificationCode === undefined ? pending[0] : verification.matchCode(pending, verificationCode);
    if (!registration) {
      await hasher.verifyAgainstDummy(password);
      return this.failed(emailNormalized, ip);
    }
    if (!(await hasher.verify(registration.passwordHash, password))) return this.failed(emailNormalized, ip);
    // Only a confirmation clears the failures: a pending registration's password is the registrant's choice,
    // so its match alone proves nothing, and clearing on it would reset the lock-out on code guesses.
    if (verificationCode === undefined) throw accountNotVerified();
    const created = await verification.confirm(registration, ip);
    if (!created) throw wrongCredentials();
    await limits.recordPasswordSuccess(emailNormalized);
    return created;
  }

  /** Refuses early (before any argon2 work) an account or IP that has used up its failed attempts. */
  async assertMayTry({ emailNormalized, ip }: { emailNormalized: string; ip: string }): Promise<void> {
    await this.deps.limits.assertNotExhausted('passwordFailuresPerAccount', emailNormalized);
    await this.deps.limits.assertNotExhausted('loginFailuresPerIp', ip);
  }

  /** The password check of a known account, with its failures counted against the account and the IP. */
  async check({ account, password, ip }: { account: AccountRow; password: string; ip: string }): Promise<AccountRow> {
    const { hasher, limits, activity } = this.deps;
    if (!(await hasher.verify(account.passwordHash, password))) {
      // In the background: waiting for the write would make a known email's failure slower than an unknown one's.
      activity.recordInBackground({ accountId: account.id, kind: 'LOGIN_FAILED', ip });
      return this.failed(account.emailNormalized, ip);
    }
    await limits.recordPasswordSuccess(account.emailNormalized);
    if (!account.verified) throw accountNotVerified();
    return account;
  }

  private async failed(emailNormalized: string, ip: string): Promise<never> {
    await Promise.all([this.deps.limits.recordPasswordFailure(emailNormalized), this.deps.limits.recordFailure('loginFailuresPerIp', ip)]);
    throw wrongCredentials();
  }
}
