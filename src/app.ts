import type { EntityManager } from 'typeorm';
import type { AccountRow } from './db/entities/account.entity';
import { once } from 'node:events';
import Redis from 'ioredis';
import type { Logger } from 'pino';
import type { ContextDeps } from './context';
import type { Config } from './config';
import type { Database } from './db/database';
import { openDatabase } from './db/data-source';
import { AccountRepository } from './db/repositories/account.repository';
import { AuthTokenRepository } from './db/repositories/auth-token.repository';
import { ServerSettingRepository } from './db/repositories/server-setting.repository';
import { PendingRegistrationRepository } from './db/repositories/pending-registration.repository';
import { WalletRepository } from './db/repositories/wallet.repository';
import { WhitelistRepository } from './db/repositories/whitelist.repository';
import { WalletHistoryRepository } from './db/repositories/wallet-history.repository';
import { AccountEventRepository } from './db/repositories/account-event.repository';
import { KnownDeviceRepository } from './db/repositories/known-device.repository';
import { createSchema } from './graphql/schema';
import { systemClock, type Clock } from './lib/clock';
import { createSmtpMailer, noMailer, type Mailer } from './lib/mailer';
import { createLogger } from './lib/logger';
import { Metrics } from './lib/metrics';
import { PasswordHasher } from './lib/password';
import { RateLimits } from './lib/rate-limits';
import { randomHex } from './lib/tokens';
import { createHttpServer, type HttpServer } from './server';
import { publishDomainEvents, type DomainEvents } from './events/domain-events';
import { createRedisTransport } from './events/redis-transport';
import { listenForRevocations } from './events/revocations';
import { inProcessTransport, type EventTransport } from './events/transport';
import { WalletUpdateFeed } from './events/wallet-updates';
import { AccountService } from './services/account.service';
import { ActivityLog } from './services/activity.service';
import { NewDeviceNotices } from './services/notices';
import { WalletCommit } from './services/wallet-commit';
import { WalletHistoryService } from './services/wallet-history.service';
import { CredentialsService } from './services/credentials.service';
import { SessionService } from './services/session.service';
import { VerificationService } from './services/verification.service';
import { WalletService } from './services/wallet.service';
import { SecondFactorRepository } from './db/repositories/second-factor.repository';
import { PasskeyRepository } from './db/repositories/passkey.repository';
import { PasskeyService } from './services/passkey.service';
import { RecoveryCodeHasher } from './lib/recovery-codes';
import { SecretBox } from './lib/secret-box';
import { SecondFactorNotices } from './services/second-factor-notices';
import { SecondFactorService, type SecurityLogNote } from './services/second-factor.service';

export interface Repositories {
  accounts: AccountRepository;
  tokens: AuthTokenRepository;
  wallets: WalletRepository;
  pendingRegistrations: PendingRegistrationRepository;
  walletHistory: WalletHistoryRepository;
  accountEvents: AccountEventRepository;
  knownDevices: KnownDeviceRepository;
  whitelist: WhitelistRepository;
  secondFactors: SecondFactorRepository;
  passkeys: PasskeyRepository;
}

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
  services: {
    accounts: AccountService;
    sessions: SessionService;
    wallets: WalletService;
    verification: VerificationService;
    history: WalletHistoryService;
    activity: ActivityLog;
    secondFactors: SecondFactorService;
    passkeys: PasskeyService;
  };
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

export interface ServiceWiring {
  clock: Clock;
  mailer: Mailer;
  events: DomainEvents;
  reportError: (error: unknown, what: string) => void;
  metrics: Metrics;
  /** Shared rate-limit counters; per-process without it. The server's one command connection (pub/sub publishes on it too). */
  redis?: Redis;
  hasher?: PasswordHasher;
  repositories?: Partial<Repositories>;
}

/** The services, each given its collaborators by name: the server and the admin command wire them the same way. */
export async function createServices(
  config: Readonly<Config>,
  db: Database,
  wiring: ServiceWiring,
): Promise<App['services'] & { repositories: Repositories }> {
  const { clock, mailer, events, reportError, metrics, redis } = wiring;
  const hasher =
    wiring.hasher ?? new PasswordHasher(config.passwordHashing, (seconds, kind) => metrics.argon2Duration.observe({ kind }, seconds));
  const repositories: Repositories = {
    accounts: wiring.repositories?.accounts ?? new AccountRepository(),
    tokens: wiring.repositories?.tokens ?? new AuthTokenRepository(),
    wallets: wiring.repositories?.wallets ?? new WalletRepository(),
    pendingRegistrations: wiring.repositories?.pendingRegistrations ?? new PendingRegistrationRepository(),
    walletHistory: wiring.repositories?.walletHistory ?? new WalletHistoryRepository(),
    accountEvents: wiring.repositories?.accountEvents ?? new AccountEventRepository(),
    knownDevices: wiring.repositories?.knownDevices ?? new KnownDeviceRepository(),
    whitelist: wiring.repositories?.whitelist ?? new WhitelistRepository(),
    secondFactors: wiring.repositories?.secondFactors ?? new SecondFactorRepository(),
    passkeys: wiring.repositories?.passkeys ?? new PasskeyRepository(),
  };
  const limits = new RateLimits(config.rateLimitBudgets, config.rateLimits, redis && { client: redis, prefix: config.redisChannelPrefix });
  const serverSecret = config.serverSecret ?? (await db.run((m) => new ServerSettingRepository().getOrCreate(m, 'server_secret', randomHex(32))));

  const activity = new ActivityLog(db, repositories.accountEvents, clock, config.activityRetentionDays, reportError);
  const history = new WalletHistoryService(db, repositories.walletHistory, config.walletVersionsKept);
  const commit = new WalletCommit(repositories.wallets, repositories.walletHistory, activity, config.walletVersionsKept);
  const verification = new VerificationService(
    config,
    db,
    repositories.pendingRegistrations,
    repositories.accounts,
    limits,
    clock,
    mailer,
    reportError,
    activity,
  );
  const credentials = new CredentialsService(db, repositories.accounts, hasher, limits, activity, verification);
  const securityLog = {
    recordIn: (m: EntityManager, { accountId, kind, ...details }: SecurityLogNote) => activity.recordIn(m, accountId, kind, details),
    record: ({ accountId, kind, ...details }: SecurityLogNote) => activity.record(accountId, kind, details),
  };
  const secondFactorNotices = new SecondFactorNotices({ mailer, enabled: mailer !== noMailer, reportError });
  const passkeys: PasskeyService = new PasskeyService({
    db,
    accounts: repositories.accounts,
    passkeys: repositories.passkeys,
    secondFactors: repositories.secondFactors,
    confirmPassword: (request): Promise<AccountRow> => secondFactors.confirmPassword(request),
    limits,
    clock,
    activity: securityLog,
    notices: secondFactorNotices,
    relyingParty: { ...config.webauthn, name: config.serverName },
    serverSecret,
  });
  const secondFactors = new SecondFactorService({
    db,
    accounts: repositories.accounts,
    secondFactors: repositories.secondFactors,
    credentials: {
      check: ({ account, password, ip }) => credentials.check(account, password, ip),
      assertMayTry: ({ emailNormalized, ip }) => credentials.assertMayTry(emailNormalized, ip),
    },
    limits,
    clock,
    activity: securityLog,
    notices: secondFactorNotices,
    totpSecrets: new SecretBox(serverSecret, 'totp secret'),
    recoveryCodes: new RecoveryCodeHasher(serverSecret),
    issuer: config.serverName,
    passkeys,
  });
  const wallets = new WalletService(
    db,
    repositories.wallets,
    commit,
    clock,
    events,
    (result) => metrics.walletWrites.inc({ result }),
    config.maxWalletBytes,
  );
  const sessions = new SessionService(
    db,
    repositories.accounts,
    repositories.tokens,
    repositories.wallets,
    credentials,
    limits,
    clock,
    events,
    { ttlDays: config.tokenTtlDays, maxAgeDays: config.tokenMaxAgeDays },
    repositories.knownDevices,
    activity,
    new NewDeviceNotices(mailer, mailer !== noMailer, reportError),
    secondFactors,
  );
  const accounts = new AccountService(
    config,
    db,
    repositories.accounts,
    repositories.tokens,
    credentials,
    hasher,
    limits,
    clock,
    events,
    verification,
    wallets,
    serverSecret,
    repositories.walletHistory,
    activity,
    repositories.whitelist,
    secondFactors,
  );
  return { accounts, sessions, wallets, verification, history, activity, secondFactors, passkeys, repositories };
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
  const ready = await Promise.race([once(redis, 'ready').then(() => true), new Promise<false>((r) => setTimeout(r, REDIS_START_WAIT_MS, false))]);
  if (!ready) logger.warn('redis is not reachable yet: serving with per-instance fallbacks until it is');
  return redis;
}

const REDIS_START_WAIT_MS = 3000;
