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

function recipients(mail: ParsedMail): string[] {
  const to = Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : [];
  return to.flatMap((address) => address.value.map((v) => (v.address ?? '').toLowerCase()));
}

/** The verification link in a mail, pointed at the running test server. */
export function verificationLink(mail: ParsedMail, serverUrl: string): string {
  const match = /https?:\/\/\S+\/verify\?token=[A-Za-z0-9_%-]+/.exec(mail.text ?? '');
  if (!match) throw new Error(`no verification link in: ${mail.text}`);
  const link = new URL(match[0]);
  return `${serverUrl}${link.pathname}${link.search}`;
}
