import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A real SMTP server on a loopback port that keeps what it receives. */
export class TestSmtpServer {
  readonly inbox: ParsedMail[] = [];
  private server: SMTPServer | undefined;
  private waiters: Array<{ to: string; matches: (mail: ParsedMail) => boolean; resolve: (mail: ParsedMail) => void }> = [];
  port = 0;

  async start(port = 0): Promise<string> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, _session, callback) => {
        simpleParser(stream)
          .then((mail) => {
            this.inbox.push(mail);
            this.notify(mail);
            callback();
          })
          .catch(callback);
      },
    });
    this.server.listen(port, '127.0.0.1');
    await once(this.server.server, 'listening');
    this.port = (this.server.server.address() as AddressInfo).port;
    return `smtp://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The next mail to `to` that `matches` (one already received and not yet taken counts). */
  nextMailTo(to: string, timeoutMs = 5000, matches: (mail: ParsedMail) => boolean = () => true): Promise<ParsedMail> {
    const index = this.inbox.findIndex((mail) => recipients(mail).includes(to.toLowerCase()) && matches(mail));
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no mail to ${to} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        to: to.toLowerCase(),
        matches,
        resolve: (mail) => {
          clearTimeout(timer);
          resolve(mail);
        },
      });
    });
  }

  mailsTo(to: string): ParsedMail[] {
    return this.inbox.filter((mail) => recipients(mail).includes(to.toLowerCase()));
  }

  private notify(mail: ParsedMail): void {
    const index = this.waiters.findIndex((w) => recipients(mail).includes(w.to) && w.matches(mail));
    if (index < 0) return;
    const [waiter] = this.waiters.splice(index, 1);
    this.inbox.splice(this.inbox.indexOf(mail), 1);
    waiter.resolve(mail);
  }
}

/** The notice a login from a device new to the account sends. */
export const isNewDeviceNotice = (mail: ParsedMail) => /new device/i.test(mail.subject ?? '');
/**
 * The next verification-code mail to `to`, read once the server's background
 * mail has gone out (its SMTP transaction ends after the test server stored the
 * mail), so no fixed wait bounds delivery on a loaded machine.
 */
export async function codeMailTo(smtp: TestSmtpServer, app: { services: { verification: { idle(): Promise<void> } } }, to: string): Promise<ParsedMail> {
  await app.services.verification.idle();
  return smtp.nextMailTo(to, 5000, isCodeMail);
}

/** A mail that carries a verification code (EmailVerify), as opposed to a notice. */
export const isCodeMail = (mail: ParsedMail) => /verification code/i.test(mail.subject ?? '');

function recipients(mail: ParsedMail): string[] {
  const to = Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : [];
  return to.flatMap((address) => address.value.map((v) => (v.address ?? '').toLowerCase()));
}

/** The verification code a mail shows (`ABCD-EFGH`, Crockford base32 in upper case); fails when the mail has none. */
export function verificationCode(mail: ParsedMail): string {
  const match = /\b([0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4})\b/.exec(mail.text ?? '');
  if (!match) throw new Error(`no verification code in: ${mail.text}`);
  return match[1];
}
