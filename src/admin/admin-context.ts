import type { Logger } from 'pino';
import { createServices } from '../services/wiring';
import type { Config } from '../config';
import { openDatabase } from '../db/data-source';
import type { Database } from '../db/database';
import { AdminReportRepository } from '../db/repositories/admin-report.repository';
import { publishDomainEvents, type DomainEvents } from '../events/domain-events';
import { createRedisTransport } from '../events/redis-transport';
import { inProcessTransport, type EventTransport } from '../events/transport';
import { systemClock } from '../lib/clock';
import { createSmtpMailer, noMailer } from '../lib/mailer';
import { Metrics } from '../lib/metrics';
import { AdminService } from '../services/admin.service';

/** How long the admin command waits to hear its own revocations back through Redis. */
const DELIVERY_TIMEOUT_MS = 5000;

export interface AdminContext {
  admin: AdminService;
  db: Database;
  /**
   * Resolves once every revocation this command announced went through the
   * events transport (with Redis: came back on the command's own subscription,
   * so every instance subscribed to Redis got it too). Rejects after a timeout.
   */
  delivered(): Promise<void>;
  /** Whether the revocations reach running servers: only through Redis. */
  reachesServers: boolean;
  /** Where the command logs what it did to an account (stderr). */
  logger: Logger;
  close(): Promise<void>;
}

/** The services wired as the server wires them, on the server's own configuration, with events going out through the same transport. */
export async function openAdminContext(config: Readonly<Config>, logger: Logger): Promise<AdminContext> {
  const db = await openDatabase(config.database);
  let transport: EventTransport | undefined;
  try {
    transport = config.redisUrl ? createRedisTransport({ url: config.redisUrl, channelPrefix: config.redisChannelPrefix, logger }) : inProcessTransport();
    const published = publishDomainEvents(transport.pubSub);
    let announced = 0;
    let heard = 0;
    let onHeard: (() => void) | undefined;
    const ownRevocations = transport.pubSub.subscribe('TOKENS_REVOKED');
    const listening = (async () => {
      for await (const event of ownRevocations) {
        if (!event) continue;
        heard += 1;
        onHeard?.();
      }
    })();
    if (config.redisUrl) await redisReady(transport);
    await transport.settled();
    const events: DomainEvents = {
      walletUpdated: (accountId, sequence) => published.walletUpdated(accountId, sequence),
      tokensRevoked: (accountId, deviceId) => {
        announced += 1;
        published.tokensRevoked(accountId, deviceId);
      },
    };
    // The owner is mailed of what the operator changed (a second factor turned off), as the server would mail it.
    const mailer = config.smtpUrl && config.mailFrom ? createSmtpMailer(config.smtpUrl, config.mailFrom) : noMailer;
    const services = await createServices(config, db, {
      clock: systemClock,
      mailer,
      events,
      reportError: (error, what) => logger.error({ err: error }, `failed while ${what}`),
      metrics: new Metrics(),
    });
    const admin = new AdminService({
      db,
      reports: new AdminReportRepository(),
      whitelist: services.repositories.whitelist,
      accounts: services.accounts,
      sessions: services.sessions,
      verification: services.verification,
      secondFactors: services.secondFactors,
      clock: systemClock,
    });
    const openTransport = transport;
    return {
      admin,
      db,
      reachesServers: Boolean(config.redisUrl),
      logger,
      delivered: () =>
        new Promise<void>((resolve, reject) => {
          if (heard >= announced) return resolve();
          const timer = setTimeout(() => reject(new Error(`Redis did not confirm ${announced - heard} of ${announced} revocations within ${DELIVERY_TIMEOUT_MS} ms`)), DELIVERY_TIMEOUT_MS);
          onHeard = () => {
            if (heard < announced) return;
            clearTimeout(timer);
            resolve();
          };
        }),
      async close() {
        await services.secondFactors.idle();
        mailer.close();
        await ownRevocations.return();
        await listening;
        await openTransport.close();
        await db.close();
      },
    };
  } catch (error) {
    await transport?.close();
    await db.close();
    throw error;
  }
}

/** The publisher drops what it is given before its connection is up: wait for both connections, or give up naming Redis. */
async function redisReady(transport: EventTransport): Promise<void> {
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
  while (transport.health() !== 'up') {
    if (Date.now() > deadline) throw new Error(`Redis (REDIS_URL) did not answer within ${DELIVERY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
