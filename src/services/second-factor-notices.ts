import { escapeHtml, type MailMessage, type Mailer } from '../lib/mailer';
import { networkPrefix } from '../lib/network-prefix';

/** What changed about an account's second factor, as its owner is told. */
export type SecondFactorChange =
  | 'TOTP_ENABLED'
  | 'TOTP_DISABLED'
  | 'PASSKEY_ADDED'
  | 'PASSKEY_REMOVED'
  | 'RECOVERY_CODES_REGENERATED'
  | 'RECOVERY_CODE_USED'
  | 'DISABLED_BY_OPERATOR';

const WHAT: Record<SecondFactorChange, { subject: string; line: string }> = {
  TOTP_ENABLED: { subject: 'Two-step sign-in turned on', line: 'An authenticator app (TOTP) was set up as the second factor of your wallet sync account.' },
  TOTP_DISABLED: { subject: 'Two-step sign-in turned off', line: 'The authenticator app (TOTP) was removed from your wallet sync account: signing in needs only the password now.' },
  PASSKEY_ADDED: { subject: 'A passkey was added', line: 'A passkey (or security key) was added to your wallet sync account: it can now sign in.' },
  PASSKEY_REMOVED: { subject: 'A passkey was removed', line: 'A passkey (or security key) was removed from your wallet sync account: it can no longer sign in.' },
  RECOVERY_CODES_REGENERATED: {
    subject: 'New recovery codes',
    line: 'New recovery codes were made for your wallet sync account; the earlier ones no longer work.',
  },
  RECOVERY_CODE_USED: { subject: 'A recovery code was used', line: 'A recovery code was used to sign in to your wallet sync account; it cannot be used again.' },
  DISABLED_BY_OPERATOR: {
    subject: 'Two-step sign-in turned off by the server operator',
    line: "The server's operator turned off the second factor of your wallet sync account (as asked for when every factor was lost): signing in needs only the password now.",
  },
};

/** The mail for one change: what happened, when, from which network (the prefix only, as the security log keeps it). */
export function secondFactorMail(to: string, change: SecondFactorChange, at: Date, ipPrefix: string | null): MailMessage {
  const { subject, line } = WHAT[change];
  const when = at.toISOString();
  const where = ipPrefix ?? 'no network (the server itself)';
  const advice = 'If this was not you, change your password now (that signs every device out) and set up the second factor again.';
  return {
    to,
    subject,
    text: `${line}\n\nTime: ${when} (UTC)\nNetwork: ${where}\n\n${advice}\n`,
    html: `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">
<p>${escapeHtml(line)}</p>
<table><tr><td>Time</td><td>${escapeHtml(when)} (UTC)</td></tr><tr><td>Network</td><td>${escapeHtml(where)}</td></tr></table>
<p style="color:#555">${escapeHtml(advice)}</p>
</body></html>`,
  };
}

export interface SecondFactorNoticesDeps {
  mailer: Mailer;
  /** False when no mail is configured (SMTP_URL, MAIL_FROM): then nothing is sent. */
  enabled: boolean;
  /** Where a failed background mail is reported: nobody awaits it. */
  reportError: (error: unknown, what: string) => void;
}

/**
 * Why it exists: every change to an account's second factor, and every use of a
 * recovery code, reaches the owner's inbox, so a thief who holds the password
 * and turns the factor off (or burns a recovery code) does not go unnoticed.
 */
export class SecondFactorNotices {
  private readonly sending = new Set<Promise<void>>();

  constructor(private readonly deps: SecondFactorNoticesDeps) {}

  /** In the background, like every mail: no answer waits on the SMTP server. */
  send({ email, change, at, ip }: { email: string; change: SecondFactorChange; at: Date; ip?: string }): void {
    if (!this.deps.enabled) return;
    const sent = this.deps.mailer
      .send(secondFactorMail(email, change, at, networkPrefix(ip)))
      .catch((error) => this.deps.reportError(error, 'sending a second-factor notice'))
      .finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }

  /** Resolves once every mail sent so far has gone (or failed): a short-lived process (the admin command) waits for it before exiting. */
  async idle(): Promise<void> {
    await Promise.all([...this.sending]);
  }
}
