import { escapeHtml, type MailMessage, type Mailer } from '../lib/mailer';
import { networkPrefix } from '../lib/network-prefix';

/**
 * A login from a device the account had never seen: the owner learns of it, so
 * a stolen password shows up in their inbox. It names the device, the time and
 * the network prefix (never the full address), which is what the log keeps too.
 */
export function newDeviceMail(to: string, deviceId: string, at: Date, ipPrefix: string | null): MailMessage {
  const where = ipPrefix ?? 'an unknown network';
  const when = at.toISOString();
  return {
    to,
    subject: 'New device signed in to your wallet sync account',
    text:
      `A device that had never signed in to your wallet sync account just did.\n\n` +
      `Device: ${deviceId}\nTime: ${when} (UTC)\nNetwork: ${where}\n\n` +
      `If this was you, nothing needs doing. If not, change your password now: that signs every device out.\n`,
    html: `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">
<p>A device that had never signed in to your wallet sync account just did.</p>
<table><tr><td>Device</td><td><code>${escapeHtml(deviceId)}</code></td></tr><tr><td>Time</td><td>${escapeHtml(when)} (UTC)</td></tr><tr><td>Network</td><td>${escapeHtml(where)}</td></tr></table>
<p style="color:#555">If this was you, nothing needs doing. If not, change your password now: that signs every device out.</p>
</body></html>`,
  };
}

export interface NewDeviceNoticesDeps {
  mailer: Mailer;
  /** False when no mail is configured (SMTP_URL, MAIL_FROM): then nothing is sent. */
  enabled: boolean;
  /** Where a failed background mail is reported: nobody awaits it. */
  reportError: (error: unknown, what: string) => void;
}

/** Why it exists: tells the owner, by mail, of a login from a device the account had never seen. */
export class NewDeviceNotices {
  constructor(private readonly deps: NewDeviceNoticesDeps) {}

  /** In the background, like every mail: no answer waits on the SMTP server. */
  send({ email, deviceId, at, ip }: { email: string; deviceId: string; at: Date; ip: string }): void {
    if (!this.deps.enabled) return;
    this.deps.mailer.send(newDeviceMail(email, deviceId, at, networkPrefix(ip))).catch((error) => this.deps.reportError(error, 'sending the new-device notice'));
  }
}
