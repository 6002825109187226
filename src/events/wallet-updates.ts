import type { EventTransport } from './transport';

/** Told when a stream starts and when it has ended, e.g. for the active-subscriptions gauge. */
export interface StreamLifecycle {
  started(): void;
  ended(): void;
}

/**
 * What a walletUpdated subscription yields: the accepted sequence, and the
 * account's state as it is when asked for (its sequence ≥ `sequence`). The
 * state is read only when a subscriber asks, and once per account and event
 * however many of the account's devices ask.
 */
export interface LiveWalletUpdate<S> {
  sequence: number;
  state(): Promise<S | null>;
}

/** One walletUpdated subscription, as the account's shared pub/sub subscription reaches it. */
interface Subscriber<S> {
  /** Forwards `sequence` when it is newer than the last one this subscriber was given. */
  offer(sequence: unknown, state: () => Promise<S | null>): void;
}

/** The live subscribers of one account, fed by one pub/sub subscription to its topic. */
interface AccountSubscribers<S> {
  subscribers: Set<Subscriber<S>>;
  unsubscribe(): void;
}

/** Reads an account's current wallet state (at least its sequence), or null while it has none. */
export type CurrentStateReader<S extends { sequence: number }> = (accountId: number) => Promise<S | null>;

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
 * catch-up read: an event costs one dispatch per account, and at most one read
 * of the state (only when a subscriber selects it), and a subscription holds
 * only its own stream (this is what 10,000 open subscriptions are made of).
 */
export class WalletUpdateFeed<S extends { sequence: number }> {
  private readonly accounts = new Map<number, AccountSubscribers<S>>();

  constructor(
    private readonly transport: EventTransport,
    /** Reads an account's current state: the catch-up of `sinceSequence`, after an outage of the link, and an event's state. */
    private readonly readCurrent: CurrentStateReader<S>,
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
  stream(accountId: number, sinceSequence: number | null | undefined): AsyncIterableIterator<LiveWalletUpdate<S>> {
    return new UpdateStream(this, accountId, sinceSequence);
  }

  /** Reads the account's current state now, and offers it to `subscribers` as it was read. */
  async offerCurrent(accountId: number, subscribers: Iterable<Subscriber<S>>): Promise<void> {
    const current = await this.readCurrent(accountId);
    const state = () => Promise.resolve(current);
    for (const subscriber of subscribers) subscriber.offer(current?.sequence, state);
  }

  /** Adds `subscriber` to its account's subscribers, subscribing to the account's topic for the first one. */
  join(accountId: number, subscriber: Subscriber<S>): void {
    let account = this.accounts.get(accountId);
    if (!account) {
      const subscribers = new Set<Subscriber<S>>();
      const events = this.transport.pubSub.subscribe('WALLET_UPDATED', String(accountId));
      // Iterating is what puts the pub/sub subscription in effect: started before the caller reads the current sequence.
      void (async () => {
        for await (const event of events) {
          // One read for this event, made by the first subscriber that selects walletState, shared by the others.
          let read: Promise<S | null> | undefined;
          const state = () => (read ??= this.readCurrent(accountId));
          for (const each of subscribers) each.offer(event?.sequence, state);
        }
      })().catch((error) => this.reportError(error, 'forwarding wallet updates to subscriptions'));
      account = { subscribers, unsubscribe: () => void events.return() };
      this.accounts.set(accountId, account);
    }
    account.subscribers.add(subscriber);
    this.lifecycle.started();
  }

  /** Removes `subscriber`; the account's topic is left with its last subscriber. */
  leave(accountId: number, subscriber: Subscriber<S>): void {
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

  private catchUp(accountId: number, account: AccountSubscribers<S>): Promise<void> {
    return this.offerCurrent(accountId, account.subscribers);
  }
}

/** How many events a subscriber that does not read may have waiting; past that the oldest go (each says only "newer state"). */
const MAX_WAITING_EVENTS = 64;

type Waiter<S> = { resolve: (result: IteratorResult<LiveWalletUpdate<S>>) => void; reject: (error: unknown) => void };

/**
 * One walletUpdated subscription: an async iterator over the sequences its
 * account's pub/sub subscription offers, each newer than the one before. Plain
 * fields rather than a generator or a Repeater: a generator parked on an awaited
 * event cannot be returned until one arrives (an idle subscription would outlive
 * its closed socket), and what a Repeater keeps per stream (bound push and stop,
 * its executor's promises) is most of what 10,000 idle subscriptions weigh.
 */
class UpdateStream<S extends { sequence: number }> implements AsyncIterableIterator<LiveWalletUpdate<S>>, Subscriber<S> {
  private state: 'idle' | 'open' | 'closed' = 'idle';
  private last: number;
  /** Events not read yet, oldest first. */
  private waiting: LiveWalletUpdate<S>[] | undefined;
  /** Reads waiting for an event. */
  private readers: Waiter<S>[] | undefined;
  /** Why the stream failed, for the read after the events already waiting. */
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly feed: WalletUpdateFeed<S>,
    private readonly accountId: number,
    private readonly sinceSequence: number | null | undefined,
  ) {
    this.last = sinceSequence ?? 0;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<LiveWalletUpdate<S>>> {
    if (this.state === 'idle') this.open();
    const update = this.waiting?.shift();
    if (update !== undefined) return Promise.resolve({ value: update, done: false });
    if (this.failure) {
      const { error } = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.state === 'closed') return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.readers ??= []).push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<LiveWalletUpdate<S>>> {
    this.waiting = undefined;
    this.failure = undefined;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<LiveWalletUpdate<S>>> {
    void this.return();
    return Promise.reject(error);
  }

  offer(sequence: unknown, state: () => Promise<S | null>): void {
    if (this.state !== 'open' || typeof sequence !== 'number' || sequence <= this.last) return;
    this.last = sequence;
    const update = { sequence, state };
    const reader = this.readers?.shift();
    if (reader) return reader.resolve({ value: update, done: false });
    if ((this.waiting ??= []).push(update) > MAX_WAITING_EVENTS) this.waiting.shift();
  }

  private open(): void {
    this.state = 'open';
    this.feed.join(this.accountId, this);
    void this.catchUp();
  }

  /** Once the subscription is in effect: the current state, when the subscriber asked to be caught up. */
  private async catchUp(): Promise<void> {
    try {
      await this.feed.settled();
      if (this.sinceSequence !== undefined && this.sinceSequence !== null) await this.feed.offerCurrent(this.accountId, [this]);
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
