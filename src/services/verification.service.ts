import { Mutex } from 'async-mutex';
import type { Config } from '../config';
import type { Database } from '../db/database';
import type { AccountRow } from '../db/entities/account.entity';
import type { PendingRegistrationRow } from '../db/entities/pending-registration.entity';
import type { AccountRepository } from '../db/repositories/account.repository';
import type { PendingRegistrationRepository } from '../db/repositories/pending-registration.repository';
import { HOUR_MS, addMilliseconds, type Clock } from '../lib/clock';
import type { KeyParams } from '../lib/key-params';
import { escapeHtml, type MailMessage, type Mailer } from '../lib/mailer';
import type { RateLimits } from '../lib/rate-limits';
import { hashVerificationCode, newVerificationCode } from '../lib/verification-code';
import { normalizeEmail } from '../lib/email';
import type { ActivityLog } from './activity.service';

export type VerificationConfig = Pick<Config, 'accountVerificationMode' | 'publicUrl' | 'verifyTokenTtlHours'>;

/** At most this many registrations wait for one email; a new one pushes out the oldest. */
export const MAX_PENDING_PER_EMAIL = 5;

export interface PendingRegistrationData {
  email: string;
  passwordHash: string;
  clientSaltSeed: string;
  keyParams: KeyParams;
}

export interface VerificationServiceDeps {
  config: Readonly<VerificationConfig>;
  db: Database;
  pendings: PendingRegistrationRepository;
  accounts: AccountRepository;
  limits: RateLimits;
  clock: Clock;
  mailer: Mailer;
  /** Where a failed background task (mail, resend) is reported: nobody awaits it. */
  reportError: (error: unknown, what: string) => void;
  activity: ActivityLog;
}

/**
 * Why it exists: in EmailVerify mode a registration becomes an account only
 * when someone proves they read the mail sent to the address AND knows that
 * registration's password (PROTOCOL.md, "Account verification modes"). A
 * stranger who registers someone else's email first never sees the code, and
 * the owner's code does not go with the stranger's password: that closes
 * account pre-hijacking. Nothing acts on a link: the mail carries a code that
 * the owner types into the app, so mail scanners opening links change nothing.
 * Mail goes out in the background, so no answer waits on (or reveals anything
 * through the timing of) the SMTP server.
 */
export class VerificationService {
  private readonly background = new Set<Promise<void>>();
  private readonly registering = new Mutex();

  constructor(private readonly deps: VerificationServiceDeps) {}

  /**
   * A registration in EmailVerify mode. For an email with a (verified) account
   * nothing is stored and the owner is told; otherwise a pending registration
   * is stored (the oldest beyond five goes) and its code mailed. All of it runs
   * in the background, as a resend does: a taken email needs one read, a new
   * one a durable write, and an answer that waited on either would tell them
   * apart by its timing. One at a time, so registrations of an email keep their
   * order (the oldest beyond five is the first one made).
   */
  register(data: PendingRegistrationData): void {
    const now = this.deps.clock.now();
    this.runInBackground(() => this.registering.runExclusive(() => this.registerNow(data, now)), 'storing a pending registration');
  }

  private async registerNow(data: PendingRegistrationData, now: Date): Promise<void> {
    const emailNormalized = normalizeEmail(data.email);
    const existing = await this.deps.db.run((m) => this.deps.accounts.findByEmail(m, emailNormalized));
    if (existing) {
      this.sendInBackground(registrationAttemptMail(existing.email));
      return;
    }
    const code = newVerificationCode();
    await this.deps.db.transaction(async (m) => {
      await this.deps.pendings.insert(m, {
        email: data.email,
        emailNormalized,
        passwordHash: data.passwordHash,
        clientSaltSeed: data.clientSaltSeed,
        keyN: data.keyParams.n,
        keyR: data.keyParams.r,
        keyP: data.keyParams.p,
        codeHash: hashVerificationCode(code),
        createdAt: now,
        expiresAt: this.expiryFrom(now),
      });
      await this.deps.pendings.keepNewest(m, emailNormalized, MAX_PENDING_PER_EMAIL);
    });
    this.sendInBackground(verificationMail(data.email, code, this.deps.config));
  }

  /**
   * The email's pending registrations that have not expired, newest first (none once it has an account).
   * It waits for the registrations still being stored in the background (of any email, so the wait tells
   * nothing about this one): a login right after register finds its registration, as before register
   * moved its write into the background.
   */
  async live(emailNormalized: string): Promise<PendingRegistrationRow[]> {
    await this.registering.waitForUnlock();
    return this.liveNow(emailNormalized);
  }

  /** `live` for work that already holds the registering lock (waiting for it there would never end). */
  private liveNow(emailNormalized: string): Promise<PendingRegistrationRow[]> {
    return this.deps.db.run((m) => this.deps.pendings.listLive(m, emailNormalized, this.deps.clock.now()));
  }

  /** The registration among `pending` that this code belongs to, if any. */
  matchCode(pending: readonly PendingRegistrationRow[], code: string): PendingRegistrationRow | undefined {
    const codeHash = hashVerificationCode(code);
    return pending.find((registration) => registration.codeHash === codeHash);
  }

  /**
   * Turns the registration into a verified account and drops every other
   * pending registration of the email, in one transaction. Null when the
   * registration is gone (a concurrent confirmation took it) or the email got
   * an account meanwhile: the caller answers as for wrong credentials. The
   * security log starts with the account: registered and verified, at once.
   */
  async confirm(registration: PendingRegistrationRow, ip: string): Promise<AccountRow | null> {
    const now = this.deps.clock.now();
    return this.deps.db.transaction(async (m) => {
      const waiting = await this.deps.pendings.lockForEmail(m, registration.emailNormalized);
      if (!waiting.includes(registration.id)) return null;
      const account: Omit<AccountRow, 'id'> = {
        email: registration.email,
        emailNormalized: registration.emailNormalized,
        passwordHash: registration.passwordHash,
        clientSaltSeed: registration.clientSaltSeed,
        verified: true,
        keyN: registration.keyN,
        keyR: registration.keyR,
        keyP: registration.keyP,
        createdAt: now,
      };
      const id = await this.deps.accounts.insert(m, account);
      if (id === 'taken') return null;
      await this.deps.pendings.deleteForEmail(m, registration.emailNormalized);
      await this.deps.activity.recordIn(m, { accountId: id, kind: 'REGISTERED', ip });
      await this.deps.activity.recordIn(m, { accountId: id, kind: 'VERIFIED', ip });
      return { id, ...account };
    });
  }

  /**
   * Mails a fresh code for the newest pending registration of the email (its
   * earlier code stops working). The answer never depends on the email: all of
   * the work (look-up, write, mail) runs in the background for every email, so
   * neither the answer nor its timing tells a pending email from any other.
   */
  async resend(email: string, ip: string): Promise<void> {
    await this.deps.limits.consume('resendVerificationEmailPerIp', ip);
    if (this.deps.config.accountVerificationMode !== 'EmailVerify') return;
    // After any registration still being stored: a resend right after register finds it.
    this.runInBackground(() => this.registering.runExclusive(() => this.resendNow(normalizeEmail(email))), 'resending a verification email');
  }

  private async resendNow(emailNormalized: string): Promise<void> {
    const [newest] = await this.liveNow(emailNormalized);
    if (!newest) return;
    const code = newVerificationCode();
    const replaced = await this.deps.db.run((m) => this.deps.pendings.replaceCode(m, newest.id, hashVerificationCode(code), this.expiryFrom(this.deps.clock.now())));
    if (replaced) this.sendInBackground(verificationMail(newest.email, code, this.deps.config));
  }

  async purgeExpired(): Promise<number> {
    return this.deps.db.run((m) => this.deps.pendings.purgeExpired(m, this.deps.clock.now()));
  }

  /** Resolves once the background work started so far (resends, mail) has finished: for shutdown and tests. */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  private expiryFrom(now: Date): Date {
    return addMilliseconds(now, this.deps.config.verifyTokenTtlHours * HOUR_MS);
  }

  private sendInBackground(message: MailMessage): void {
    this.runInBackground(() => this.deps.mailer.send(message), 'sending mail');
  }

  private runInBackground(work: () => Promise<unknown>, what: string): void {
    const task = work().then(
      () => undefined,
      (error) => this.deps.reportError(error, what),
    );
    this.background.add(task);
    void task.finally(() => this.background.delete(task));
  }
}

function verificationMail(to: string, code: string, config: Readonly<VerificationConfig>): MailMessage {
  const where = config.publicUrl ? ` at ${config.publicUrl}` : '';
  const ttl = config.verifyTokenTtlHours;
  return {
    to,
    subject: `Your wallet sync verification code: ${code}`,
    text:
      `Your verification code for wallet sync${where}:\n\n    ${code}\n\n` +
      `Enter it in your wallet app when it asks for it; it works with the password you just chose and expires in ${ttl} hours.\n` +
      'If you did not sign up, ignore this email: without this code nobody can use your address.\n',
    html: `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">
<p>Your verification code for wallet sync${escapeHtml(where)}:</p>
<p style="font-size:1.6em;font-family:ui-monospace,monospace;letter-spacing:.1em"><strong>${escapeHtml(code)}</strong></p>
<p>Enter it in your wallet app when it asks for it; it works with the password you just chose and expires in ${ttl} hours.</p>
<p style="color:#555">If you did not sign up, ignore this email: without this code nobody can use your address.</p>
</body></html>`,
  };
}

function registrationAttemptMail(to: string): MailMessage {
  return {
    to,
    subject: 'Someone tried to sign up with your email',
    text: 'Someone tried to create a wallet sync account with this email address, which already has one. Nothing was changed. If it was you, log in instead; if you forgot your password, your wallet app can help you recover.\n',
    html: `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">
<p>Someone tried to create a wallet sync account with this email address, which already has one. <strong>Nothing was changed.</strong></p>
<p style="color:#555">If it was you, log in instead.</p>
</body></html>`,
  };
}
