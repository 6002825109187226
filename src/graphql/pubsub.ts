import { Repeater, createPubSub, type PubSub } from '@graphql-yoga/subscription';
import type { DomainEvents } from '../events/domain-events';

export interface WalletUpdatedEvent {
  sequence: number;
}

/** Tokens stopped working: the one of `deviceId`, or every token of the account when it is null. */
export interface TokensRevokedEvent {
  accountId: number;
  deviceId: string | null;
}

export type WalletPubSubTopics = {
  WALLET_UPDATED: [accountId: string, event: WalletUpdatedEvent];
  TOKENS_REVOKED: [event: TokensRevokedEvent];
};

export type WalletPubSub = PubSub<WalletPubSubTopics>;

/** Whether events reach the other instances: `not configured` when there is only this one (no REDIS_URL). */
export type RedisHealth = 'up' | 'down' | 'not configured';

/** The pub/sub and what the live subscriptions need to know about the link that carries it. */
export interface PubSubTransport {
  pubSub: WalletPubSub;
  health(): RedisHealth;
  /**
   * Resolves once the subscriptions opened before the call receive what any
   * instance publishes (with Redis: the SUBSCRIBE commands are confirmed).
   * Resolves at once while the link is down: the outage is covered by onRecovered.
   */
  settled(): Promise<void>;
  /** Calls `listener` each time the link comes back after an outage; events published meanwhile were lost. Returns the unsubscribe. */
  onRecovered(listener: () => void): () => void;
  close(): Promise<void>;
}

/** In-process pub/sub: enough for one instance. */
export function createLocalPubSub(): WalletPubSub {
  return createPubSub<WalletPubSubTopics>();
}

export function localTransport(pubSub: WalletPubSub = createLocalPubSub()): PubSubTransport {
  return {
    pubSub,
    health: () => 'not configured',
    settled: async () => {},
    onRecovered: () => () => {},
    close: async () => {},
  };
}

/** Domain events as pub/sub messages, so they reach every instance. Each wallet event carries its sequence so a client can tell what it missed. */
export function domainEventsTo(pubSub: WalletPubSub): DomainEvents {
  return {
    walletUpdated: (accountId, sequence) => pubSub.publish('WALLET_UPDATED', String(accountId), { sequence }),
    tokensRevoked: (accountId, deviceId) => pubSub.publish('TOKENS_REVOKED', { accountId, deviceId: deviceId ?? null }),
  };
}

/**
 * The account's wallet updates, each with a sequence greater than the one before
 * (a late event that a newer one overtook says nothing new and is dropped).
 * With `sinceSequence`, the current sequence is emitted first when it is newer.
 * The pub/sub subscription is in effect before the current sequence is read, so
 * no update falls between the two; after an outage of the link between
 * instances the current sequence is read again, since events were lost meanwhile.
 *
 * A Repeater rather than an async generator: a generator parked on an awaited
 * event cannot be returned until one arrives, so an idle subscription would
 * outlive its closed socket.
 */
export function walletUpdates(
  transport: PubSubTransport,
  accountId: number,
  sinceSequence: number | null | undefined,
  currentSequence: () => Promise<number | null>,
  reportError: (error: unknown, what: string) => void,
  /** Told when the subscription starts and when it has ended, e.g. for the active-subscriptions gauge. */
  lifecycle: { started(): void; ended(): void } = { started: () => {}, ended: () => {} },
): Repeater<WalletUpdatedEvent> {
  return new Repeater<WalletUpdatedEvent>(async (push, stop) => {
    lifecycle.started();
    let last = sinceSequence ?? 0;
    const offer = (sequence: unknown) => {
      if (typeof sequence === 'number' && sequence > last) {
        last = sequence;
        void push({ sequence });
      }
    };
    const catchUp = async () => offer(await currentSequence());

    const events = transport.pubSub.subscribe('WALLET_UPDATED', String(accountId));
    const forwarding = (async () => {
      for await (const event of events) offer(event?.sequence);
    })();
    const stopRecovery = transport.onRecovered(() => {
      transport
        .settled()
        .then(catchUp)
        .catch((error) => reportError(error, 'catching a subscription up after the pub/sub link came back'));
    });
    try {
      await transport.settled();
      if (sinceSequence !== undefined && sinceSequence !== null) await catchUp();
    } catch (error) {
      stop(error);
    }
    await stop;
    stopRecovery();
    await events.return();
    await forwarding;
    lifecycle.ended();
  });
}
