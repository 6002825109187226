import type { DomainEvents } from '../../src/events/domain-events';

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
