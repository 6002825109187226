import { Repeater } from '@graphql-yoga/subscription';
import type { WalletUpdatedEvent } from './topics';
import type { EventTransport } from './transport';

/** Told when a stream starts and when it has ended, e.g. for the active-subscriptions gauge. */
export interface StreamLifecycle {
  started(): void;
  ended(): void;
}

/** One walletUpdated subscription, as the account's shared pub/sub subscription reaches it. */
interface Subscriber {
  /** Forwards `sequence` when it is newer than the last one this subscriber was given. */
  offer(sequence: unknown): void;
}

/** The live subscribers of one account, fed by one pub/sub subscription to its topic. */
interface AccountSubscribers {
  subscribers: Set<Subscriber>;
  /** Reads the account's current sequence (for catching up after an outage of the link). */
  currentSequence: () => Promise<number | null>;
  unsubscribe(): void;
}

/**
 * The live wallet updates of one account, as a walletUpdated subscription
 * receives them: each with a sequence greater than the one before (a late event
 * that a newer one overtook says nothing new and is dropped). With
 * `sinceSequence`, the current sequence is emitted first when it is newer. The
 * pub/sub subscription is in effect before the current sequence is read, so no
 * update falls between the two; after an outage of the link between instances
 * the current sequence is read again, since events were lost meanwhile.
 *
 * The devices of an account share one pub/sub subscription to its topic and one
 * catch-up read: an event costs one dispatch per account, and a subscription
 * holds only its own stream (this is what 10,000 open subscriptions are made of).
 */
export class WalletUpdateFeed {
  private readonly accounts = new Map<number, AccountSubscribers>();

  constructor(
    private readonly transport: EventTransport,
    private readonly reportError: (error: unknown, what: string) => void,
    private readonly lifecycle: StreamLifecycle = { started: () => {}, ended: () => {} },
  ) {
    transport.onRecovered(() => {
      transport
        .settled()
        .then(() => Promise.all([...this.accounts.values()].map((account) => this.catchUp(account))))
        .catch((error) => reportError(error, 'catching subscriptions up after the pub/sub link came back'));
    });
  }

  /**
   * A Repeater rather than an async generator: a generator parked on an awaited
   * event cannot be returned until one arrives, so an idle subscription would
   * outlive its closed socket.
   */
  stream(
    accountId: number,
    sinceSequence: number | null | undefined,
    currentSequence: () => Promise<number | null>,
  ): AsyncIterableIterator<WalletUpdatedEvent> {
    const { transport, lifecycle } = this;
    return new Repeater<WalletUpdatedEvent>(async (push, stop) => {
      lifecycle.started();
      let last = sinceSequence ?? 0;
      const subscriber: Subscriber = {
        offer(sequence) {
          if (typeof sequence === 'number' && sequence > last) {
            last = sequence;
            void push({ sequence });
          }
        },
      };
      const leave = this.join(accountId, subscriber, currentSequence);
      try {
        await transport.settled();
        if (sinceSequence !== undefined && sinceSequence !== null) subscriber.offer(await currentSequence());
      } catch (error) {
        stop(error);
      }
      await stop;
      leave();
      lifecycle.ended();
    });
  }

  /** Adds `subscriber` to its account's subscribers, subscribing to the account's topic for the first one. Returns the leave. */
  private join(accountId: number, subscriber: Subscriber, currentSequence: () => Promise<number | null>): () => void {
    let account = this.accounts.get(accountId);
    if (!account) {
      const subscribers = new Set<Subscriber>();
      const events = this.transport.pubSub.subscribe('WALLET_UPDATED', String(accountId));
      // Iterating is what puts the pub/sub subscription in effect: started before the caller reads the current sequence.
      void (async () => {
        for await (const event of events) for (const each of subscribers) each.offer(event?.sequence);
      })().catch((error) => this.reportError(error, 'forwarding wallet updates to subscriptions'));
      account = { subscribers, currentSequence, unsubscribe: () => void events.return() };
      this.accounts.set(accountId, account);
    }
    const joined = account;
    joined.subscribers.add(subscriber);
    return () => {
      joined.subscribers.delete(subscriber);
      if (joined.subscribers.size > 0 || this.accounts.get(accountId) !== joined) return;
      this.accounts.delete(accountId);
      joined.unsubscribe();
    };
  }

  private async catchUp(account: AccountSubscribers): Promise<void> {
    const sequence = await account.currentSequence();
    for (const subscriber of account.subscribers) subscriber.offer(sequence);
  }
}
