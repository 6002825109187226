import { Repeater } from '@graphql-yoga/subscription';
import type { WalletUpdatedEvent } from './topics';
import type { EventTransport } from './transport';

/** Told when a stream starts and when it has ended, e.g. for the active-subscriptions gauge. */
export interface StreamLifecycle {
  started(): void;
  ended(): void;
}

/**
 * The live wallet updates of one account, as a walletUpdated subscription
 * receives them: each with a sequence greater than the one before (a late event
 * that a newer one overtook says nothing new and is dropped). With
 * `sinceSequence`, the current sequence is emitted first when it is newer. The
 * pub/sub subscription is in effect before the current sequence is read, so no
 * update falls between the two; after an outage of the link between instances
 * the current sequence is read again, since events were lost meanwhile.
 */
export class WalletUpdateFeed {
  constructor(
    private readonly transport: EventTransport,
    private readonly reportError: (error: unknown, what: string) => void,
    private readonly lifecycle: StreamLifecycle = { started: () => {}, ended: () => {} },
  ) {}

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
    const { transport, reportError, lifecycle } = this;
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
}
