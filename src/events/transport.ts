import { createPubSub } from '@graphql-yoga/subscription';
import type { EventPubSub, EventTopics } from './topics';

/** Whether events reach the other instances: `not configured` when there is only this one (no REDIS_URL). */
export type RedisHealth = 'up' | 'down' | 'not configured';

/** The pub/sub, and what the live subscriptions need to know about the link that carries it between instances. */
export interface EventTransport {
  pubSub: EventPubSub;
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
export function inProcessTransport(pubSub: EventPubSub = createPubSub<EventTopics>()): EventTransport {
  return {
    pubSub,
    health: () => 'not configured',
    settled: async () => {},
    onRecovered: () => () => {},
    close: async () => {},
  };
}
