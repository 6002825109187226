import { createPubSub } from '@graphql-yoga/subscription';
import type { EventPubSub, EventTopics } from '../../src/events/topics';
import type { EventTransport } from '../../src/events/transport';
import { WalletUpdateFeed, type LiveWalletUpdate } from '../../src/events/wallet-updates';
import { rethrow } from '../helpers/recorders';

/**
 * The walletUpdated streams of WalletUpdateFeed on a real in-process pub/sub,
 * counting the topic subscriptions it opens: an account's devices share one, and
 * a link recovery is one read per account, not one per device.
 */
describe('WalletUpdateFeed', () => {
  let pubSub: EventPubSub;
  let topicSubscriptions: string[];
  let recoveryListeners: Set<() => void>;
  /** The state the feed reads: the sequence, and the read that produced it (counted from 1). */
  type State = { sequence: number; read: number };
  let feed: WalletUpdateFeed<State>;
  let reads: number;
  let lifecycle: { started: number; ended: number };
  /** The current sequence the feed reads, per test. */
  let readSequence: (accountId: number) => Promise<number | null>;

  beforeEach(() => {
    const real = createPubSub<EventTopics>();
    topicSubscriptions = [];
    pubSub = {
      publish: real.publish,
      subscribe: ((...args: Parameters<EventPubSub['subscribe']>) => {
        topicSubscriptions.push(args.join(':'));
        return real.subscribe(...args);
      }) as EventPubSub['subscribe'],
    };
    recoveryListeners = new Set();
    const transport: EventTransport = {
      pubSub,
      health: () => 'up',
      settled: async () => {},
      onRecovered: (listener) => {
        recoveryListeners.add(listener);
        return () => recoveryListeners.delete(listener);
      },
      close: async () => {},
    };
    lifecycle = { started: 0, ended: 0 };
    readSequence = async () => 1;
    reads = 0;
    const readCurrent = async (accountId: number): Promise<State | null> => {
      reads += 1;
      const sequence = await readSequence(accountId);
      return sequence === null ? null : { sequence, read: reads };
    };
    feed = new WalletUpdateFeed(transport, readCurrent, rethrow, { started: () => (lifecycle.started += 1), ended: () => (lifecycle.ended += 1) });
  });

  /** A stream's next event, or 'nothing' when none comes within a few event-loop turns. */
  async function next(stream: AsyncIterator<LiveWalletUpdate<State>>): Promise<number | 'nothing'> {
    const timeout = new Promise<'nothing'>((resolve) => setTimeout(() => resolve('nothing'), 50));
    const event = stream.next().then((result) => (result.done ? 'nothing' : result.value.sequence));
    return Promise.race([event, timeout]);
  }

  const publish = (accountId: number, sequence: number) => pubSub.publish('WALLET_UPDATED', String(accountId), { sequence });
  const flush = () => new Promise((resolve) => setImmediate(resolve));

  it('when two devices of one account subscribe, then they share one topic subscription and each receives every newer update', async () => {
    let current = 3;
    readSequence = async () => current;
    const phone = feed.stream(7, 0);
    const laptop = feed.stream(7, 3);
    expect(await next(phone)).toBe(3);
    const laptopFirst = next(laptop);
    await flush();
    expect(topicSubscriptions).toEqual(['WALLET_UPDATED:7']);

    current = 4;
    publish(7, 4);
    expect(await laptopFirst).toBe(4);
    expect(await next(phone)).toBe(4);
    // Another account's topic is another subscription, and its events reach only its own devices.
    const other = feed.stream(8, undefined);
    const otherFirst = next(other);
    await flush();
    publish(8, 9);
    expect(await otherFirst).toBe(9);
    expect(topicSubscriptions).toEqual(['WALLET_UPDATED:7', 'WALLET_UPDATED:8']);
    await Promise.all([phone.return!(), laptop.return!(), other.return!()]);
  });

  it('when an update arrives late, after a newer one, then no device receives it', async () => {
    const phone = feed.stream(7, undefined);
    const first = next(phone);
    await flush();
    publish(7, 5);
    expect(await first).toBe(5);
    publish(7, 4);
    publish(7, 6);
    expect(await next(phone)).toBe(6);
    await phone.return!();
  });

  it('when one device leaves, then the other keeps receiving; when the last leaves, the topic is left and a new device subscribes anew', async () => {
    const phone = feed.stream(7, undefined);
    const laptop = feed.stream(7, undefined);
    const phoneFirst = next(phone);
    const laptopFirst = next(laptop);
    await flush();
    await phone.return!();
    publish(7, 2);
    expect(await laptopFirst).toBe(2);
    expect(await phoneFirst).toBe('nothing');
    expect(topicSubscriptions).toHaveLength(1);

    await laptop.return!();
    await flush();
    expect(lifecycle).toEqual({ started: 2, ended: 2 });

    const tablet = feed.stream(7, undefined);
    const tabletFirst = next(tablet);
    await flush();
    expect(topicSubscriptions).toEqual(['WALLET_UPDATED:7', 'WALLET_UPDATED:7']);
    publish(7, 3);
    expect(await tabletFirst).toBe(3);
    await tablet.return!();
  });

  it('when the link between instances comes back, then each account is read once and its devices get what they missed', async () => {
    let current = 1;
    readSequence = async () => current;
    const phone = feed.stream(7, undefined);
    const laptop = feed.stream(7, undefined);
    const phoneFirst = next(phone);
    const laptopFirst = next(laptop);
    await flush();
    expect(reads).toBe(0);

    // Sequence 2 was published while the link was down: nobody heard it.
    current = 2;
    for (const listener of recoveryListeners) listener();
    expect(await phoneFirst).toBe(2);
    expect(await laptopFirst).toBe(2);
    expect(reads).toBe(1);
    await Promise.all([phone.return!(), laptop.return!()]);
  });

  it('when a device reads slowly, then it gets the newer updates in order, and nothing is subscribed before its first read or after its return', async () => {
    const phone = feed.stream(7, undefined);
    await flush();
    expect(topicSubscriptions).toEqual([]);
    const first = next(phone);
    await flush();
    expect(topicSubscriptions).toEqual(['WALLET_UPDATED:7']);
    publish(7, 2);
    expect(await first).toBe(2);
    publish(7, 3);
    publish(7, 4);
    expect(await next(phone)).toBe(3);
    expect(await next(phone)).toBe(4);
    await phone.return!();
    expect(lifecycle).toEqual({ started: 1, ended: 1 });
    expect(await phone.next()).toEqual({ value: undefined, done: true });
    // Returned before its first read: it never subscribed, and never counted as started.
    const unused = feed.stream(8, 0);
    await unused.return!();
    expect(await unused.next()).toEqual({ value: undefined, done: true });
    expect(topicSubscriptions).toEqual(['WALLET_UPDATED:7']);
    expect(lifecycle).toEqual({ started: 1, ended: 1 });
  });

  it('when the catch-up read fails, then the read fails with its error, the stream ends and the topic is left', async () => {
    readSequence = async () => {
      throw new Error('database away');
    };
    const failing = feed.stream(7, 0);
    await expect(failing.next()).rejects.toThrow('database away');
    expect(await failing.next()).toEqual({ value: undefined, done: true });
    expect(lifecycle).toEqual({ started: 1, ended: 1 });
    // The account's topic was left with its only subscriber: the next device subscribes anew.
    const phone = feed.stream(7, undefined);
    const first = next(phone);
    await flush();
    publish(7, 5);
    expect(await first).toBe(5);
    expect(topicSubscriptions).toEqual(['WALLET_UPDATED:7', 'WALLET_UPDATED:7']);
    await phone.return!();
  });

  it('when several devices of an account ask for the state of one event, then it is read once, after the event, and not at all when none asks', async () => {
    let current = 4;
    readSequence = async () => current;
    const phone = feed.stream(7, undefined);
    const laptop = feed.stream(7, undefined);
    const phoneFirst = phone.next();
    const laptopFirst = laptop.next();
    await flush();

    publish(7, 4);
    const [atPhone, atLaptop] = [(await phoneFirst).value!, (await laptopFirst).value!];
    expect(reads).toBe(0);
    // Another device wrote meanwhile: the state is the one current when it is asked for, newer than the event.
    current = 5;
    const [seenByPhone, seenByLaptop] = await Promise.all([atPhone.state(), atLaptop.state()]);
    expect(seenByPhone).toEqual({ sequence: 5, read: 1 });
    expect(seenByLaptop).toBe(seenByPhone);
    expect(await atPhone.state()).toBe(seenByPhone);
    expect(reads).toBe(1);

    // The next event is a read of its own; an event whose state nobody asks for costs none.
    publish(7, 5);
    publish(7, 6);
    const [fifth, sixth] = [(await phone.next()).value!, (await phone.next()).value!];
    expect([fifth.sequence, sixth.sequence]).toEqual([5, 6]);
    current = 6;
    expect(await sixth.state()).toEqual({ sequence: 6, read: 2 });
    expect(reads).toBe(2);
    await Promise.all([phone.return!(), laptop.return!()]);
  });

  it('when a device catches up with sinceSequence, then the state it is given is the one the catch-up read, with no second read', async () => {
    readSequence = async () => 3;
    const phone = feed.stream(7, 1);
    const first = (await phone.next()).value!;
    expect(first.sequence).toBe(3);
    expect(await first.state()).toEqual({ sequence: 3, read: 1 });
    expect(reads).toBe(1);
    await phone.return!();
  });
});
