import { once } from 'node:events';
import Redis from 'ioredis';
import type { Logger } from 'pino';
import type { ContextDeps } from './context';
import type { Config } from './config';
import type { Database } from './db/database';
import { openDatabase } from './db/data-source';
import { createSchema } from './graphql/schema';
import { systemClock, type Clock } from './lib/clock';
import { createSmtpMailer, noMailer, type Mailer } from './lib/mailer';
import { createLogger } from './lib/logger';
import { Metrics } from './lib/metrics';
import type { PasswordHasher } from './lib/password';
import { createHttpServer, type HttpServer } from './server';
import { publishDomainEvents, type DomainEvents } from './events/domain-events';
import { createRedisTransport } from './events/redis-transport';
import { listenForRevocations } from './events/revocations';
import { inProcessTransport, type EventTransport } from './events/transport';
import { WalletUpdateFeed } from './events/wallet-updates';
import { createServices, type Repositories, type Services } from './services/wiring';

/** What a test or the entry point may swap: every collaborator that does I/O. */
export interface AppOverrides {
  clock?: Clock;
  mailer?: Mailer;
  logger?: Logger;
  database?: Database;
  hasher?: PasswordHasher;
  repositories?: Partial<Repositories>;
  /** How events reach the live subscriptions; by default Redis when REDIS_URL is set, else in-process. */
  transport?: EventTransport;
}

export interface App {
  config: Readonly<Config>;
  db: Database;
  http: HttpServer;
  services: Services;
  /** What every request context reaches, over HTTP and WebSocket alike. */
  context: ContextDeps;
  transport: EventTransport;
  logger: Logger;
  metrics: Metrics;
  /** One pass of the background maintenance (purges; it also runs at start-up and hourly). */
  runMaintenance(): Promise<void>;
  /** Starts listening; resolves with the base URL, e.g. http://127.0.0.1:8090. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

const MAINTENANCE_INTERVAL_MS = 60 * 60 * 1000;

/** Wires the whole service from its configuration: database, services, schema, HTTP. */
export async function createApp(config: Readonly<Config>, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const db = overrides.database ?? (await openDatabase(config.database));
  const metrics = new Metrics(() => db.dialect.poolStats(db.dataSource));
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, config.redisChannelPrefix, logger) : undefined;
  const mailer =
    overrides.mailer ?? (config.smtpUrl && config.mailFrom ? createSmtpMailer(config.smtpUrl, config.mailFrom) : noMailer);
  // Two Redis connections per instance: `redis` for every command (rate limits, PUBLISH) and the transport's subscriber.
  const transport =
    overrides.transport ??
    (config.redisUrl ? createRedisTransport({ url: config.redisUrl, commands: redis, channelPrefix: config.redisChannelPrefix, logger }) : inProcessTransport());
  const events: DomainEvents = publishDomainEvents(transport.pubSub);
  const clock = overrides.clock ?? systemClock;
  const reportError = (error: unknown, what: string) => logger.error({ err: error }, `failed while ${what}`);

  const services = await createServices(config, db, {
    clock,
    mailer,
    events,
    reportError,
    metrics,
    redis,
    hasher: overrides.hasher,
    repositories: overrides.repositories,
  });
  const { sessions, wallets, verification, activity, history } = services;

  // The live updates read the current state themselves: one hop from the subscription to the feed, none back up.
  const walletUpdates = new WalletUpdateFeed(transport, (accountId) => wallets.get(accountId), reportError, {
    started: () => metrics.activeSubscriptions.inc(),
    ended: () => metrics.activeSubscriptions.dec(),
  });
  const context: ContextDeps = { sessions, wallets, walletUpdates };

  const schema = await createSchema({ config, ...services });
  const http = await createHttpServer({
    config,
    logger,
    metrics,
    schema,
    clock,
    context,
    checkReady: () => db.ping(),
    redisHealth: () => transport.health(),
    stillValid: (tokens) => sessions.stillValid(tokens),
  });

  const revocations = await listenForRevocations(transport, http.subscriptions, reportError);

  let windowChecked = false;
  const maintain = async () => {
    try {
      const purged = (await sessions.purgeExpired()) + (await verification.purgeExpired());
      if (purged > 0) logger.info({ purged }, 'purged expired tokens and pending registrations');
      const events = await activity.purgeExpired();
      if (events > 0) logger.info({ events }, 'purged security log events past ACTIVITY_RETENTION_DAYS');
      const challenges = await services.passkeys.purgeExpiredChallenges();
      if (challenges > 0) logger.info({ challenges }, 'purged WebAuthn challenges nobody answered');
      // WALLET_VERSIONS_KEPT changes only with a restart: one pass after start-up is enough.
      if (!windowChecked) {
        const dropped = await history.dropContentOutsideWindow();
        windowChecked = true;
        if (dropped > 0) logger.info({ dropped }, 'dropped wallet contents beyond WALLET_VERSIONS_KEPT');
      }
    } catch (error) {
      logger.warn({ err: error }, 'background maintenance failed; will retry');
    }
  };
  const maintenance = setInterval(() => void maintain(), MAINTENANCE_INTERVAL_MS);
  maintenance.unref();
  void maintain();

  return {
    config,
    db,
    http,
    services,
    context,
    transport,
    logger,
    metrics,
    runMaintenance: maintain,
    async listen() {
      await http.fastify.listen({ host: config.host, port: config.port });
      const address = http.fastify.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return `http://${host}:${port}`;
    },
    async close() {
      clearInterval(maintenance);
      await http.subscriptions.close();
      await revocations.close();
      await http.fastify.close();
      await verification.idle();
      await transport.close();
      mailer.close();
      redis?.disconnect();
      await db.close();
    },
  };
}

/**
 * The instance's one Redis connection for commands: the rate limits' counters
 * and the pub/sub PUBLISHes (only the transport's subscriber needs a
 * connection of its own). Commands fail fast while Redis is away (no offline
 * queue), so callers fall back, or drop the event, instead of hanging; ioredis
 * keeps reconnecting in the background.
 */
async function connectRedis(url: string, prefix: string, logger: Logger): Promise<Redis> {
  // Named after the deployment's prefix, so CLIENT LIST tells deployments sharing one Redis apart.
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: `${prefix}commands` });
  // Transitions are what matter: ioredis reports every failed reconnection attempt, so those go to debug.
  redis.on('error', (error) => logger.debug({ err: error }, 'redis connection error (commands)'));
  redis.on('ready', () => logger.info('redis connected'));
  // Start with Redis when it is there; start without it (and keep retrying) when it is not.
  let wait: NodeJS.Timeout | undefined;
  const ready = await Promise.race([once(redis, 'ready').then(() => true), new Promise<false>((r) => (wait = setTimeout(r, REDIS_START_WAIT_MS, false)))]);
  // Left pending, the wait would hold the process (a test worker, a one-shot admin command) for up to 3 s after a close.
  clearTimeout(wait);
  if (!ready) logger.warn('redis is not reachable yet: serving with per-instance fallbacks until it is');
  return redis;
}

const REDIS_START_WAIT_MS = 3000;
