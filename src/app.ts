import pino, { type Logger } from 'pino';
import type { Config } from './config';
import type { Database } from './db/database';
import { openDatabase } from './db/data-source';
import { AccountRepository } from './db/repositories/account.repository';
import { AuthTokenRepository } from './db/repositories/auth-token.repository';
import { ServerSettingRepository } from './db/repositories/server-setting.repository';
import { VerificationTokenRepository } from './db/repositories/verification-token.repository';
import { WalletRepository } from './db/repositories/wallet.repository';
import { createLocalPubSub, walletEventsTo, walletUpdates, type WalletPubSub } from './graphql/pubsub';
import { createSchema } from './graphql/schema';
import { systemClock, type Clock } from './lib/clock';
import { createSmtpMailer, noMailer, type Mailer } from './lib/mailer';
import { PasswordHasher } from './lib/password';
import { randomHex } from './lib/tokens';
import { createHttpServer, type HttpServer } from './server';
import { AccountService } from './services/account.service';
import { SessionService } from './services/session.service';
import type { DomainEvents, ServiceDeps } from './services/types';
import { VerificationService } from './services/verification.service';
import { WalletService } from './services/wallet.service';

/** What a test or the entry point may swap: every collaborator that does I/O. */
export interface AppOverrides {
  clock?: Clock;
  mailer?: Mailer;
  logger?: Logger;
  database?: Database;
  hasher?: PasswordHasher;
  repositories?: Partial<Pick<ServiceDeps, 'accounts' | 'tokens' | 'wallets' | 'verificationTokens'>>;
}

export interface App {
  config: Readonly<Config>;
  db: Database;
  http: HttpServer;
  services: { accounts: AccountService; sessions: SessionService; wallets: WalletService; verification: VerificationService };
  pubSub: WalletPubSub;
  logger: Logger;
  /** Starts listening; resolves with the base URL, e.g. http://127.0.0.1:8090. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

const MAINTENANCE_INTERVAL_MS = 60 * 60 * 1000;

/** Wires the whole service from its configuration: database, services, schema, HTTP. */
export async function createApp(config: Readonly<Config>, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? pino({ level: config.logLevel });
  const db = overrides.database ?? (await openDatabase(config.database));
  const mailer =
    overrides.mailer ?? (config.smtpUrl && config.mailFrom ? createSmtpMailer(config.smtpUrl, config.mailFrom) : noMailer);
  const pubSub = createLocalPubSub();
  const events: DomainEvents = { ...walletEventsTo(pubSub), tokensRevoked: () => {} };

  const deps: ServiceDeps = {
    config,
    db,
    clock: overrides.clock ?? systemClock,
    hasher: overrides.hasher ?? new PasswordHasher(config.passwordHashing),
    accounts: overrides.repositories?.accounts ?? new AccountRepository(),
    tokens: overrides.repositories?.tokens ?? new AuthTokenRepository(),
    wallets: overrides.repositories?.wallets ?? new WalletRepository(),
    verificationTokens: overrides.repositories?.verificationTokens ?? new VerificationTokenRepository(),
    mailer,
    events,
    reportError: (error, what) => logger.error({ err: error }, `failed while ${what}`),
  };
  const serverSecret = config.serverSecret ?? (await db.run((m) => new ServerSettingRepository().getOrCreate(m, 'server_secret', randomHex(32))));

  const verification = new VerificationService(deps);
  const wallets = new WalletService(deps);
  const sessions = new SessionService(deps);
  const accounts = new AccountService(deps, verification, wallets, serverSecret);
  const services = { accounts, sessions, wallets, verification };

  const schema = await createSchema({ config, ...services }, pubSub);
  const http = await createHttpServer({
    config,
    logger,
    schema,
    context: {
      authenticate: (token) => sessions.authenticate(token),
      authenticateWithWallet: (token) => sessions.authenticateWithWallet(token),
      wallet: (accountId) => wallets.get(accountId),
      walletUpdates: (accountId, since) =>
        walletUpdates(pubSub, accountId, since, async () => (await wallets.get(accountId))?.sequence ?? null),
    },
    checkReady: () => db.ping(),
    verifyAccount: (token) => verification.verify(token),
  });

  const maintain = async () => {
    try {
      const purged = (await sessions.purgeExpired()) + (await verification.purgeExpired());
      if (purged > 0) logger.info({ purged }, 'purged expired tokens');
    } catch (error) {
      logger.warn({ err: error }, 'purging expired tokens failed; will retry');
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
    pubSub,
    logger,
    async listen() {
      await http.fastify.listen({ host: config.host, port: config.port });
      const address = http.fastify.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return `http://${host}:${port}`;
    },
    async close() {
      clearInterval(maintenance);
      await http.fastify.close();
      mailer.close();
      await db.close();
    },
  };
}
