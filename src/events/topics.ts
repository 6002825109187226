import type { PubSub } from '@graphql-yoga/subscription';

/** One accepted wallet write; it carries only the sequence, so a device can tell what it missed and fetch the state. */
export interface WalletUpdatedEvent {
  sequence: number;
}

/** Tokens stopped working: the one of `deviceId`, or every token of the account when it is null. */
export interface TokensRevokedEvent {
  accountId: number;
  deviceId: string | null;
}

/** The pub/sub topics: wallet updates per account (the id is the account id), and revocations for every instance. */
export type EventTopics = {
  WALLET_UPDATED: [accountId: string, event: WalletUpdatedEvent];
  TOKENS_REVOKED: [event: TokensRevokedEvent];
};

export type EventPubSub = PubSub<EventTopics>;
