import { once } from 'node:events';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSubEventTarget } from '@graphql-yoga/subscription';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { EventTopics } from './topics';
import type { EventTransport, RedisHealth } from './transport';

export interface RedisPubSubOptions {
  url: string;
  /**
   * The connection to PUBLISH on, shared with the rest of the instance's commands (the server's rate limits):
   * only the subscriber needs a connection of its own, since a connection in subscriber mode can run nothing else.
   * Its owner connects and closes it. Without it the transport opens (and closes) a publisher of its own.
   */
  commands?: Redis;
  /** Prepended to every channel, so deployments (or test runs) sharing one Redis don't hear each other. */
  channelPrefix: string;
  logger: Logger;
}

/**
 * Pub/sub across instances over Redis. Redis pub/sub is fire-and-forget: while
 * Redis is unreachable, events are dropped (not queued) and the server goes on
 * serving; ioredis reconnects and resubscribes by itself, and onRecovered lets
 * the subscriptions read what they missed.
 */
export function createRedisTransport({ url, commands, channelPrefix, logger }: RedisPubSubOptions): EventTransport {
  const log = logger.child({ component: 'redis-pubsub' });
  // A publish waits for nobody: while Redis is away it fails at once instead of piling up in memory.
  const publisher = commands ?? new Redis(url, { enableOfflineQueue: false, connectionName: `${channelPrefix}publish` });
  // SUBSCRIBE/UNSUBSCRIBE issued during an outage wait for the reconnection instead of failing.
  const subscriber = new SubscriberClient(url, { maxRetriesPerRequest: null, connectionName: `${channelPrefix}subscribe` });

  let closed = false;
  let health: RedisHealth = 'down';
  let lastError: string | undefined;
  const recoveryListeners = new Set<() => void>();
  const updateHealth = () => {
    const now: RedisHealth = publisher.status === 'ready' && subscriber.status === 'ready' ? 'up' : 'down';
    if (now === health || closed) return;
    health = now;
    if (now === 'up') {
      log.info('Redis reachable: live updates reach every instance');
      for (const listener of recoveryListeners) listener();
    } else {
      log.warn({ error: lastError }, 'Redis unreachable: live updates between instances are paused until it returns; queries and mutations go on');
    }
  };
  for (const client of [publisher, subscriber]) {
    client.on('ready', updateHealth);
    client.on('close', updateHealth);
    client.on('end', updateHealth);
    // Without a listener ioredis prints every failed reconnection attempt; the transitions above are what matters.
    client.on('error', (error: Error) => {
      lastError = error.message;
      log.debug({ err: error }, 'Redis connection error');
    });
  }

  const redisTarget = createRedisEventTarget<CustomEvent>({
    publishClient: publisher,
    subscribeClient: subscriber,
    // A stray message on one of our channels becomes a null event, which the consumers ignore, instead of an exception inside ioredis.
    serializer: { stringify: JSON.stringify, parse: parseOrNull },
  });
  type Listener = Parameters<typeof redisTarget.addEventListener>[1];
  const eventTarget = {
    addEventListener: (type: string, callback: Listener) => redisTarget.addEventListener(channelPrefix + type, callback),
    removeEventListener: (type: string, callback: Listener) => {
      // After close, an UNSUBSCRIBE on the ended connection would be a rejection nobody handles.
      if (!closed) redisTarget.removeEventListener(channelPrefix + type, callback);
    },
    dispatchEvent(event: CustomEvent) {
      // redis-event-target drops the promise of its PUBLISH, and an unhandled rejection (Redis away) ends the process.
      publisher.publish(channelPrefix + event.type, JSON.stringify(event.detail)).catch((error: Error) => {
        const entry = { err: error, channel: channelPrefix + event.type };
        if (health === 'up') log.warn(entry, 'publishing to Redis failed: the event is lost');
        else log.debug(entry, 'publishing to Redis failed while it is unreachable: the event is lost');
      });
      return true;
    },
  } as unknown as PubSubEventTarget<EventTopics>;

  return {
    pubSub: createPubSub<EventTopics>({ eventTarget }),
    health: () => health,
    async settled() {
      // Redis answers commands on a connection in order: once this PING is answered, every SUBSCRIBE sent before it is in effect.
      // A subscriber still connecting is waited for (a bounded while: with Redis away the server starts without it, and
      // the recovery recheck covers what it missed); returning at once let a revocation published meanwhile go unheard.
      if (subscriber.status !== 'ready') {
        const ready = await Promise.race([
          once(subscriber, 'ready').then(() => true, () => false),
          new Promise<false>((resolve) => setTimeout(resolve, SUBSCRIBER_READY_WAIT_MS, false).unref()),
        ]);
        if (!ready) return;
      }
      await subscriber.ping().catch(() => {});
    },
    onRecovered(listener) {
      recoveryListeners.add(listener);
      return () => recoveryListeners.delete(listener);
    },
    async close() {
      closed = true;
      recoveryListeners.clear();
      if (!commands) publisher.disconnect();
      subscriber.disconnect();
    },
  };
}

const SUBSCRIBER_READY_WAIT_MS = 3000;

/**
 * The subscriber connection. Two things ioredis 5 leaves to its user:
 *
 * - A SUBSCRIBE or UNSUBSCRIBE waits until the connection is ready. ioredis
 *   writes one issued during the connection's handshake (connected, answers to
 *   CLIENT SETNAME and the ready check still to come) at once; its answer puts
 *   the connection in subscriber mode, the ready check's INFO is then refused,
 *   and ioredis drops the connection and reconnects without the subscription,
 *   since it only renews those of a connection that was ready (redis/ioredis#2037,
 *   fixed in ioredis 6, which @graphql-yoga/redis-event-target does not accept
 *   yet). Revocations then went unheard until the periodic recheck. Waiting
 *   here keeps their order, so a topic dropped meanwhile stays dropped.
 * - redis-event-target drops the promises of its SUBSCRIBE and UNSUBSCRIBE.
 *   Those still waiting when the connection ends (shutdown) reject, and an
 *   unhandled rejection ends the process: here each one is marked handled. The
 *   subscription itself is kept by ioredis and renewed on reconnection.
 */
class SubscriberClient extends Redis {
  private readonly waitingForReady: Array<{ send: () => void; fail: (error: Error) => void }> = [];

  constructor(url: string, options: RedisOptions) {
    super(url, options);
    // Registered before anyone else's 'ready' listener: settled() pings only after these are written.
    this.on('ready', () => {
      for (const { send } of this.waitingForReady.splice(0)) send();
    });
    this.on('end', () => {
      for (const { fail } of this.waitingForReady.splice(0)) fail(new Error('Connection is closed.'));
    });
  }

  // ioredis declares these as overload sets; the override takes and passes on any of them.
  override subscribe: Redis['subscribe'] = (...args: unknown[]) => this.whenReady(Redis.prototype.subscribe as Variadic, args);
  override unsubscribe: Redis['unsubscribe'] = (...args: unknown[]) => this.whenReady(Redis.prototype.unsubscribe as Variadic, args);

  private whenReady(command: Variadic, args: unknown[]): Promise<unknown> {
    if (this.status === 'ready') return handled(command.apply(this, args));
    return handled(
      new Promise((resolve, reject) => {
        this.waitingForReady.push({ send: () => command.apply(this, args).then(resolve, reject), fail: reject });
      }),
    );
  }
}

type Variadic = (...args: unknown[]) => Promise<unknown>;

function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

function parseOrNull(message: string): unknown {
  try {
    return JSON.parse(message);
  } catch {
    return null;
  }
}
