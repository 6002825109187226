import type { DomainEvents } from '../../src/events/domain-events';
import type { MailMessage, Mailer } from '../../src/lib/mailer';

/** Domain events as a list, in the order the services announced them. */
export class RecordedEvents implements DomainEvents {
  readonly log: Array<['walletUpdated', number, number] | ['tokensRevoked', number, string | undefined]> = [];
  walletUpdated(accountId: number, sequence: number): void {
    this.log.push(['walletUpdated', accountId, sequence]);
  }
  tokensRevoked(accountId: number, deviceId?: string): void {
    this.log.push(['tokensRevoked', accountId, deviceId]);
  }
}

/** For a reportError collaborator: a failure nobody awaits fails the test instead of vanishing. */
export const rethrow = (error: unknown): never => {
  throw error;
};

/** Mail as a list, in the order the services handed it over; nothing leaves the process. */
export class RecordedMail implements Mailer {
  readonly sent: MailMessage[] = [];
  async send(message: MailMessage): Promise<void> {
    this.sent.push(message);
  }
  close(): void {}
  /** The messages to `to`, oldest first. */
  to(to: string): MailMessage[] {
    return this.sent.filter((message) => message.to === to);
  }
}

/** The code a verification mail carries (its subject ends with it). */
export function mailedCode(message: MailMessage | undefined): string {
  const code = /verification code: (\S+)$/.exec(message?.subject ?? '')?.[1];
  if (!code) throw new Error(`not a verification mail: ${message?.subject}`);
  return code;
}
