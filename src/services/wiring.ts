/**
 * The services wired together from the configuration and the database: the one
 * place that knows who needs whom. The server (app.ts) and the admin command
 * (admin/admin-context.ts) both build their services here, so the command runs
 * the same rules without loading the HTTP stack, the schema or the resolvers.
 */
import type Redis from 'ioredis';
import type { Config } from '../config';
import type { Database } from '../db/database';
import { AccountEventRepository } from '../db/repositories/account-event.repository';
import { AccountRepository } from '../db/repositories/account.repository';
import { AuthTokenRepository } from '../db/repositories/auth-token.repository';
import { KnownDeviceRepository } from '../db/repositories/known-device.repository';
import { PasskeyRepository } from '../db/repositories/passkey.repository';
import { PendingRegistrationRepository } from '../db/repositories/pending-registration.repository';
import { SecondFactorRepository } from '../db/repositories/second-factor.repository';
import { ServerSettingRepository } from '../db/repositories/server-setting.repository';
import { WalletHistoryRepository } from '../db/repositories/wallet-history.repository';
import { WalletRepository } from '../db/repositories/wallet.repository';
import { WhitelistRepository } from '../db/repositories/whitelist.repository';
import type { DomainEvents } from '../events/domain-events';
import type { Clock } from '../lib/clock';
import { noMailer, type Mailer } from '../lib/mailer';
import type { Metrics } from '../lib/metrics';
import { PasswordHasher } from '../lib/password';
import { RateLimits } from '../lib/rate-limits';
import { RecoveryCodeHasher } from '../lib/recovery-codes';
import { SecretBox } from '../lib/secret-box';
import { randomHex } from '../lib/tokens';
import { AccountService } from './account.service';
import { ActivityLog } from './activity.service';
import { CredentialsService } from './credentials.service';
import { NewDeviceNotices } from './notices';
import { PasskeyService } from './passkey.service';
import { SecondFactorNotices } from './second-factor-notices';
import { SecondFactorService } from './second-factor.service';
import { SessionService } from './session.service';
import { VerificationService } from './verification.service';
import { WalletCommit } from './wallet-commit';
import { WalletHistoryService } from './wallet-history.service';
import { WalletService } from './wallet.service';

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

/** What the API's resolvers and the admin command reach. */
export interface Services {
  accounts: AccountService;
  sessions: SessionService;
  wallets: WalletService;
  verification: VerificationService;
  history: WalletHistoryService;
  activity: ActivityLog;
  secondFactors: SecondFactorService;
  passkeys: PasskeyService;
}

export type WiredServices = Services & { repositories: Repositories };

/** What the caller provides: whatever does I/O, and what a test may swap. */
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
export async function createServices(config: Readonly<Config>, db: Database, wiring: ServiceWiring): Promise<WiredServices> {
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

  const activity = new ActivityLog({
    db,
    accountEvents: repositories.accountEvents,
    clock,
    retentionDays: config.activityRetentionDays,
    reportError,
  });
  const history = new WalletHistoryService(db, repositories.walletHistory, config.walletVersionsKept);
  const commit = new WalletCommit({
    wallets: repositories.wallets,
    history: repositories.walletHistory,
    activity,
    versionsKept: config.walletVersionsKept,
  });
  const verification = new VerificationService({
    config,
    db,
    pendings: repositories.pendingRegistrations,
    accounts: repositories.accounts,
    limits,
    clock,
    mailer,
    reportError,
    activity,
  });
  const credentials = new CredentialsService({ db, accounts: repositories.accounts, hasher, limits, activity, verification });
  const secondFactorNotices = new SecondFactorNotices({ mailer, enabled: mailer !== noMailer, reportError });
  // Each needs the other: a passkey is a method of the second factor, and adding one confirms the login password
  // the way the second factor's other changes do. The arrow resolves secondFactors only when a request calls it.
  const passkeys: PasskeyService = new PasskeyService({
    db,
    accounts: repositories.accounts,
    passkeys: repositories.passkeys,
    secondFactors: repositories.secondFactors,
    confirmPassword: (request) => secondFactors.confirmPassword(request),
    limits,
    clock,
    activity,
    notices: secondFactorNotices,
    relyingParty: { ...config.webauthn, name: config.serverName },
    serverSecret,
  });
  const secondFactors: SecondFactorService = new SecondFactorService({
    db,
    accounts: repositories.accounts,
    secondFactors: repositories.secondFactors,
    credentials,
    limits,
    clock,
    activity,
    notices: secondFactorNotices,
    totpSecrets: new SecretBox(serverSecret, 'totp secret'),
    recoveryCodes: new RecoveryCodeHasher(serverSecret),
    issuer: config.serverName,
    passkeys,
  });
  const wallets = new WalletService({
    db,
    wallets: repositories.wallets,
    commit,
    clock,
    events,
    observeWrite: (result) => metrics.walletWrites.inc({ result }),
    maxWalletBytes: config.maxWalletBytes,
  });
  const sessions = new SessionService({
    db,
    accounts: repositories.accounts,
    tokens: repositories.tokens,
    wallets: repositories.wallets,
    knownDevices: repositories.knownDevices,
    credentials,
    secondFactors,
    limits,
    clock,
    events,
    activity,
    newDeviceNotices: new NewDeviceNotices({ mailer, enabled: mailer !== noMailer, reportError }),
    tokenLifetime: { ttlDays: config.tokenTtlDays, maxAgeDays: config.tokenMaxAgeDays },
  });
  const accounts = new AccountService({
    config,
    db,
    accounts: repositories.accounts,
    tokens: repositories.tokens,
    walletHistory: repositories.walletHistory,
    whitelist: repositories.whitelist,
    credentials,
    hasher,
    limits,
    clock,
    events,
    verification,
    wallets,
    activity,
    secondFactors,
    serverSecret,
  });
  return { accounts, sessions, wallets, verification, history, activity, secondFactors, passkeys, repositories };
}
