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
  unsubscribe(): void;
}

/** What the feed needs of an account's current wallet state: its sequence, or null while it has none. */
export type CurrentStateReader = (accountId: number) => Promise<{ sequence: number } | null>;

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
    /** Reads an account's current state: the catch-up of `sinceSequence`, and after an outage of the link. */
    private readonly readCurrent: CurrentStateReader,
    private readonly reportError: (error: unknown, what: string) => void,
    private readonly lifecycle: StreamLifecycle = { started: () => {}, ended: () => {} },
  ) {
    transport.onRecovered(() => {
      transport
        .settled()
        .then(() => Promise.all([...this.accounts].map(([accountId, account]) => this.catchUp(accountId, account))))
        .catch((error) => reportError(error, 'catching subscriptions up after the pub/sub link came back'));
    });
  }

  /** The live updates of `accountId`; nothing is subscribed until the first next(). */
  stream(accountId: number, sinceSequence: number | null | undefined): AsyncIterableIterator<WalletUpdatedEvent> {
    return new UpdateStream(this, accountId, sinceSequence);
  }

  /** The account's current sequence, or null while it has no wallet. */
  async currentSequence(accountId: number): Promise<number | null> {
    return (await this.readCurrent(accountId))?.sequence ?? null;
  }

  /** Adds `subscriber` to its account's subscribers, subscribing to the account's topic for the first one. */
  join(accountId: number, subscriber: Subscriber): void {
    let account = this.accounts.get(accountId);
    if (!account) {
      const subscribers = new Set<Subscriber>();
      const events = this.transport.pubSub.subscribe('WALLET_UPDATED', String(accountId));
      // Iterating is what puts the pub/sub subscription in effect: started before the caller reads the current sequence.
      void (async () => {
        for await (const event of events) for (const each of subscribers) each.offer(event?.sequence);
      })().catch((error) => this.reportError(error, 'forwarding wallet updates to subscriptions'));
      account = { subscribers, unsubscribe: () => void events.return() };
      this.accounts.set(accountId, account);
    }
    account.subscribers.add(subscriber);
    this.lifecycle.started();
  }

  /** Removes `subscriber`; the account's topic is left with its last subscriber. */
  leave(accountId: number, subscriber: Subscriber): void {
    this.lifecycle.ended();
    const account = this.accounts.get(accountId);
    if (!account?.subscribers.delete(subscriber) || account.subscribers.size > 0) return;
    this.accounts.delete(accountId);
    account.unsubscribe();
  }

  /** Resolves once the pub/sub subscriptions asked for are in effect. */
  settled(): Promise<void> {
    return this.transport.settled();
  }

  private async catchUp(accountId: number, account: AccountSubscribers): Promise<void> {
    const sequence = await this.currentSequence(accountId);
    for (const subscriber of account.subscribers) subscriber.offer(sequence);
  }
}

/** How many events a subscriber that does not read may have waiting; past that the oldest go (each says only "newer state"). */
const MAX_WAITING_EVENTS = 64;

type Waiter = { resolve: (result: IteratorResult<WalletUpdatedEvent>) => void; reject: (error: unknown) => void };

/**
 * One walletUpdated subscription: an async iterator over the sequences its
 * account's pub/sub subscription offers, each newer than the one before. Plain
 * fields rather than a generator or a Repeater: a generator parked on an awaited
 * event cannot be returned until one arrives (an idle subscription would outlive
 * its closed socket), and what a Repeater keeps per stream (bound push and stop,
 * its executor's promises) is most of what 10,000 idle subscriptions weigh.
 */
class UpdateStream implements AsyncIterableIterator<WalletUpdatedEvent>, Subscriber {
  private state: 'idle' | 'open' | 'closed' = 'idle';
  private last: number;
  /** Events not read yet, oldest first. */
  private waiting: number[] | undefined;
  /** Reads waiting for an event. */
  private readers: Waiter[] | undefined;
  /** Why the stream failed, for the read after the events already waiting. */
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly feed: WalletUpdateFeed,
    private readonly accountId: number,
    private readonly sinceSequence: number | null | undefined,
  ) {
    this.last = sinceSequence ?? 0;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<WalletUpdatedEvent>> {
    if (this.state === 'idle') this.open();
    const sequence = this.waiting?.shift();
    if (sequence !== undefined) return Promise.resolve({ value: { sequence }, done: false });
    if (this.failure) {
      const { error } = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.state === 'closed') return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.readers ??= []).push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<WalletUpdatedEvent>> {
    this.waiting = undefined;
    this.failure = undefined;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<WalletUpdatedEvent>> {
    void this.return();
    return Promise.reject(error);
  }

  offer(sequence: unknown): void {
    if (this.state !== 'open' || typeof sequence !== 'number' || sequence <= this.last) return;
    this.last = sequence;
    const reader = this.readers?.shift();
    if (reader) return reader.resolve({ value: { sequence }, done: false });
    if ((this.waiting ??= []).push(sequence) > MAX_WAITING_EVENTS) this.waiting.shift();
  }

  private open(): void {
    this.state = 'open';
    this.feed.join(this.accountId, this);
    void this.catchUp();
  }

  /** Once the subscription is in effect: the current sequence, when the subscriber asked to be caught up. */
  private async catchUp(): Promise<void> {
    try {
      await this.feed.settled();
      if (this.sinceSequence !== undefined && this.sinceSequence !== null) this.offer(await this.feed.currentSequence(this.accountId));
    } catch (error) {
      if (this.state !== 'open') return;
      const reader = this.readers?.shift();
      if (reader) reader.reject(error);
      else this.failure = { error };
      this.close();
    }
  }

  private close(): void {
    if (this.state === 'open') this.feed.leave(this.accountId, this);
    this.state = 'closed';
    const readers = this.readers;
    this.readers = undefined;
    for (const reader of readers ?? []) reader.resolve({ value: undefined, done: true });
  }
}
