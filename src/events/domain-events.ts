import type { EventPubSub } from './topics';

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

/** Domain events as pub/sub messages, so they reach the subscriptions on every instance. */
export function publishDomainEvents(pubSub: EventPubSub): DomainEvents {
  return {
    walletUpdated: (accountId, sequence) => pubSub.publish('WALLET_UPDATED', String(accountId), { sequence }),
    tokensRevoked: (accountId, deviceId) => pubSub.publish('TOKENS_REVOKED', { accountId, deviceId: deviceId ?? null }),
  };
}
