import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import type { DomainEvents } from '../services/types';

export interface WalletUpdatedEvent {
  sequence: number;
}

export type WalletPubSubTopics = {
  WALLET_UPDATED: [accountId: string, event: WalletUpdatedEvent];
};

export type WalletPubSub = PubSub<WalletPubSubTopics>;

/** In-process pub/sub: enough for one instance. */
export function createLocalPubSub(): WalletPubSub {
  return createPubSub<WalletPubSubTopics>();
}

/** Wallet events as pub/sub messages, keyed by account. Each carries its sequence so a client can tell what it missed. */
export function walletEventsTo(pubSub: WalletPubSub): Pick<DomainEvents, 'walletUpdated'> {
  return {
    walletUpdated: (accountId, sequence) => pubSub.publish('WALLET_UPDATED', String(accountId), { sequence }),
  };
}

/**
 * The account's wallet updates, starting with the current sequence when it is
 * newer than `sinceSequence`. The pub/sub subscription opens before the current
 * sequence is read, so no update can fall between the two; an event the catch-up
 * already covered is skipped, so each sequence is emitted at most once.
 */
export async function* walletUpdates(
  pubSub: WalletPubSub,
  accountId: number,
  sinceSequence: number | null | undefined,
  currentSequence: () => Promise<number | null>,
): AsyncGenerator<WalletUpdatedEvent> {
  const events = pubSub.subscribe('WALLET_UPDATED', String(accountId))[Symbol.asyncIterator]();
  // A Repeater starts listening on its first next(): ask for the first event before reading the current state.
  let pending = events.next();
  let last = sinceSequence ?? 0;
  try {
    if (sinceSequence !== undefined && sinceSequence !== null) {
      const current = await currentSequence();
      if (current !== null && current > last) {
        last = current;
        yield { sequence: current };
      }
    }
    for (;;) {
      const next = await pending;
      if (next.done) return;
      if (next.value.sequence > last || sinceSequence === undefined || sinceSequence === null) {
        last = Math.max(last, next.value.sequence);
        yield next.value;
      }
      pending = events.next();
    }
  } finally {
    await events.return?.();
  }
}
