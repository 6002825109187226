import type { Config } from '../config';
import type { Database } from '../db/database';
import type { AccountRepository } from '../db/repositories/account.repository';
import type { VerificationTokenRepository } from '../db/repositories/verification-token.repository';
import { invalidVerifyToken } from '../errors';
import { HOUR_MS, addMilliseconds, type Clock } from '../lib/clock';
import { escapeHtml, type MailMessage, type Mailer } from '../lib/mailer';
import type { RateLimits } from '../lib/rate-limits';
import { hashToken, newSecretToken } from '../lib/tokens';
import type { ActivityLog } from './activity.service';
import { normalizeEmail } from './credentials.service';

export type VerificationConfig = Pick<Config, 'accountVerificationMode' | 'publicUrl' | 'verifyTokenTtlHours'>;

/**
 * Why it exists: in EmailVerify mode an account proves it owns its email before
 * it may log in. Links are single use, expire, and only their hash is stored.
 * Mail goes out in the background, so no answer waits on (or reveals anything
 * through the timing of) the SMTP server.
 */
export class VerificationService {
  constructor(
    private readonly config: Readonly<VerificationConfig>,
    private readonly db: Database,
    private readonly verificationTokens: VerificationTokenRepository,
    private readonly accounts: AccountRepository,
    private readonly limits: RateLimits,
    private readonly clock: Clock,
    private readonly mailer: Mailer,
    /** Where a failed background mail is reported: nobody awaits it. */
    private readonly reportError: (error: unknown, what: string) => void,
    private readonly activity: ActivityLog,
  ) {}

  /** Issues a fresh link for the account (the previous one stops working) and mails it. */
  async issueAndSend(accountId: number, email: string): Promise<void> {
    const { db, verificationTokens, clock, config } = this;
    const token = newSecretToken();
    const now = clock.now();
    await db.run((m) =>
      verificationTokens.replace(m, {
        accountId,
        tokenHash: hashToken(token),
        createdAt: now,
        expiresAt: addMilliseconds(now, config.verifyTokenTtlHours * HOUR_MS),
      }),
    );
    this.sendInBackground(verificationMail(email, `${config.publicUrl}/verify?token=${encodeURIComponent(token)}`, config.verifyTokenTtlHours));
  }

  /** Someone tried to register the owner's email: tell the owner, change nothing. */
  notifyOwnerOfRegistrationAttempt(email: string): void {
    this.sendInBackground(registrationAttemptMail(email));
  }

  /** Marks the link's account verified; INVALID_VERIFY_TOKEN when unknown, used or expired. */
  async verify(token: string): Promise<void> {
    const { db, verificationTokens, accounts, clock } = this;
    const tokenHash = hashToken(token);
    const verified = await db.transaction(async (m) => {
      const live = await verificationTokens.findLive(m, tokenHash, clock.now());
      if (!live || !(await verificationTokens.consume(m, tokenHash))) return false;
      await accounts.markVerified(m, live.accountId);
      await this.activity.recordIn(m, live.accountId, 'VERIFIED');
      return true;
    });
    if (!verified) throw invalidVerifyToken();
  }

  /** Answers the same whether the email is unknown, verified or pending; only pending ones get mail (EmailVerify mode). */
  async resend(email: string, ip: string): Promise<void> {
    await this.limits.consume('resendVerificationEmailPerIp', ip);
    if (this.config.accountVerificationMode !== 'EmailVerify') return;
    const account = await this.db.run((m) => this.accounts.findByEmail(m, normalizeEmail(email)));
    if (account && !account.verified) await this.issueAndSend(account.id, account.email);
  }

  async purgeExpired(): Promise<number> {
    return this.db.run((m) => this.verificationTokens.purgeExpired(m, this.clock.now()));
  }

  private sendInBackground(message: MailMessage): void {
    this.mailer.send(message).catch((error) => this.reportError(error, 'sending mail'));
  }
}

function verificationMail(to: string, link: string, ttlHours: number) {
  return {
    to,
    subject: 'Confirm your email for wallet sync',
    text: `Confirm this email address to start syncing your wallet:\n\n${link}\n\nThe link works once and expires in ${ttlHours} hours. If you did not sign up, ignore this email.\n`,
    html: `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">
<p>Confirm this email address to start syncing your wallet:</p>
<p><a href="${escapeHtml(link)}" style="display:inline-block;padding:.6em 1.2em;background:#1d4ed8;color:#fff;border-radius:6px;text-decoration:none">Confirm my email</a></p>
<p style="color:#555">Or open this link: ${escapeHtml(link)}<br>It works once and expires in ${ttlHours} hours. If you did not sign up, ignore this email.</p>
</body></html>`,
  };
}

function registrationAttemptMail(to: string) {
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
