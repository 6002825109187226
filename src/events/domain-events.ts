/**
 * What the services announce after a commit. Whoever wires the app decides
 * where it goes (the pub/sub that reaches live subscriptions on every instance);
 * the services only know this interface.
 */
export interface DomainEvents {
  walletUpdated(accountId: number, sequence: number): void;
  /** Tokens stopped working: the one of `deviceId`, or every token of the account when it is undefined. */
  tokensRevoked(accountId: number, deviceId?: string): void;
}
