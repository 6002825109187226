import type { Config } from '../config';
import type { Database } from '../db/database';
import type { AccountRepository } from '../db/repositories/account.repository';
import type { AuthTokenRepository } from '../db/repositories/auth-token.repository';
import type { WhitelistRepository } from '../db/repositories/whitelist.repository';
import type { WalletHistoryRepository } from '../db/repositories/wallet-history.repository';
import type { ActivityLog } from './activity.service';
import type { DomainEvents } from '../events/domain-events';
import { badUserInput, emailTaken, registrationClosed, wrongCredentials } from '../errors';
import type { Clock } from '../lib/clock';
import { DEFAULT_KEY_PARAMS, KEY_ALGORITHM, type KeyParams } from '../lib/key-params';
import type { PasswordHasher } from '../lib/password';
import type { RateLimits } from '../lib/rate-limits';
import { hmacHex } from '../lib/tokens';
import { normalizeEmail, type CredentialsService } from './credentials.service';
import type { AuthSession } from './session';
import type { VerificationService } from './verification.service';
import type { WalletUpload, WalletWriteOutcome } from './wallet-state';
import type { WalletService } from './wallet.service';
import type { SecondFactor } from './second-factor';
import type { SecondFactorService } from './second-factor.service';

export type AccountConfig = Pick<Config, 'accountVerificationMode' | 'accountWhitelist'>;

export interface RegisterData {
  email: string;
  password: string;
  clientSaltSeed: string;
  /** Omitted: the protocol default. */
  keyParams?: KeyParams | null;
}

export interface ChangePasswordData {
  email: string;
  oldPassword: string;
  newPassword: string;
  clientSaltSeed: string;
  wallet?: WalletUpload | null;
  /** Omitted: unchanged. */
  keyParams?: KeyParams | null;
  /** Needed when the account has a second factor. */
  secondFactor?: SecondFactor;
}

/** All a new device needs to derive the account's keys from the root password. */
export interface ClientKeyParamsData extends KeyParams {
  clientSaltSeed: string;
  algorithm: typeof KEY_ALGORITHM;
}

export interface AccountData {
  id: number;
  email: string;
  verified: boolean;
  createdAt: Date;
}

export interface AccountServiceDeps {
  config: Readonly<AccountConfig>;
  db: Database;
  accounts: AccountRepository;
  tokens: AuthTokenRepository;
  walletHistory: WalletHistoryRepository;
  /** The operator's list (wallet-sync-admin whitelist), read at every registration beside ACCOUNT_WHITELIST. */
  whitelist: WhitelistRepository;
  credentials: CredentialsService;
  hasher: PasswordHasher;
  limits: RateLimits;
  clock: Clock;
  events: DomainEvents;
  verification: VerificationService;
  wallets: WalletService;
  activity: ActivityLog;
  /** changePassword and deleteAccount on an account with a second factor need it too. */
  secondFactors: SecondFactorService;
  /** Keys the decoy seeds; stable across restarts and instances. */
  serverSecret: string;
}

/** deleteAccount: the password (and second factor) confirm it is the owner who asks. */
export interface DeleteAccountData {
  session: AuthSession;
  password: string;
  ip: string;
  secondFactor?: SecondFactor;
}

/**
 * Why it exists: who may have an account, how its credentials change, and what
 * the server tells (and hides) about which accounts exist.
 */
export class AccountService {
  constructor(private readonly deps: AccountServiceDeps) {}

  async register(input: RegisterData, ip: string): Promise<{ verified: boolean }> {
    const { config, db, accounts, hasher, clock, limits, verification, activity } = this.deps;
    await limits.consume('registerPerIp', ip);
    const emailNormalized = normalizeEmail(input.email);
    const mode = config.accountVerificationMode;
    if (mode === 'Whitelist' && !(await this.whitelisted(emailNormalized))) throw registrationClosed();
    // Hashed before the email is looked up, so a taken email costs the same time as a new one.
    const passwordHash = await hasher.hash(input.password);
    const keyParams = input.keyParams ?? DEFAULT_KEY_PARAMS;
    const clientSaltSeed = input.clientSaltSeed.toLowerCase();
    if (mode === 'EmailVerify') {
      // Not an account yet: a pending registration, whatever the email (a taken one answers alike, as fast).
      verification.register({ email: input.email, passwordHash, clientSaltSeed, keyParams });
      return { verified: false };
    }
    const accountId = await db.run((m) =>
      accounts.insert(m, {
        email: input.email,
        emailNormalized,
        passwordHash,
        clientSaltSeed,
        verified: true,
        keyN: keyParams.n,
        keyR: keyParams.r,
        keyP: keyParams.p,
        createdAt: clock.now(),
      }),
    );
    if (accountId === 'taken') throw emailTaken();
    await activity.record({ accountId, kind: 'REGISTERED', ip });
    return { verified: true };
  }

  /**
   * The account's seed, or for an unknown email a decoy: an HMAC of the email
   * under the server secret, stable per email and shaped like a real seed.
   */
  async clientSaltSeed(email: string, ip: string): Promise<string> {
    return (await this.clientKeyParams(email, ip)).clientSaltSeed;
  }

  /**
   * The account's seed and key parameters; for an unknown email the decoy seed
   * with the default parameters, which is what a fresh registration would show.
   */
  async clientKeyParams(email: string, ip: string): Promise<ClientKeyParamsData> {
    const { db, accounts, limits } = this.deps;
    await limits.consume('clientSaltSeedPerIp', ip);
    const emailNormalized = normalizeEmail(email);
    const account = await db.run((m) => accounts.findByEmail(m, emailNormalized));
    if (!account) return { clientSaltSeed: this.decoySeed(emailNormalized), algorithm: KEY_ALGORITHM, ...DEFAULT_KEY_PARAMS };
    return { clientSaltSeed: account.clientSaltSeed, algorithm: KEY_ALGORITHM, n: account.keyN, r: account.keyR, p: account.keyP };
  }

  decoySeed(emailNormalized: string): string {
    return hmacHex(this.deps.serverSecret, `client-salt-seed:${emailNormalized}`);
  }

  async get(accountId: number): Promise<AccountData | null> {
    const { db, accounts } = this.deps;
    const account = await db.run((m) => accounts.findById(m, accountId));
    return account && { id: account.id, email: account.email, verified: account.verified, createdAt: account.createdAt };
  }

  /**
   * New password hash and seed, the wallet re-encrypted under the new keys,
   * every token revoked and every passkey's wrap (of the old keys) dropped: one
   * transaction, so a failure anywhere leaves the old password, seed, wallet,
   * tokens and wraps exactly as they were.
   */
  async changePassword(input: ChangePasswordData, ip: string): Promise<WalletWriteOutcome> {
    if (input.oldPassword === input.newPassword) throw badUserInput('newPassword', 'must differ from oldPassword');
    const { db, accounts, tokens, walletHistory, credentials, secondFactors, wallets, activity, hasher, clock, events, limits } = this.deps;
    if (input.wallet) wallets.assertWithinSizeLimit(input.wallet);
    await limits.consume('changePasswordPerIp', ip);
    const account = await credentials.verify({ email: input.email, password: input.oldPassword, ip });
    await secondFactors.check({ account, factor: input.secondFactor, ip });
    const passwordHash = await hasher.hash(input.newPassword);
    const now = clock.now();

    // A concurrent upload may make the database give this transaction up (its history rows reference the account
    // this one has locked): Database.transaction runs it again, and the second run sees the winner: the upload's
    // state as a conflict, or nothing in the way.
    const outcome = await db.transaction(async (m): Promise<WalletWriteOutcome> => {
      // Locks the row and catches a concurrent change that committed first.
      if (!(await accounts.lockIfPasswordHash(m, account.id, account.passwordHash))) throw wrongCredentials();
      // The wallet first: on a conflict nothing has been written, and the transaction ends with nothing changed.
      const swapped = input.wallet
        ? await wallets.write(m, { accountId: account.id, upload: input.wallet, now, kind: 'reencryption', writer: { deviceId: null, ip } })
        : await wallets.expectNone(m, account.id);
      if (swapped.kind === 'conflict') return swapped;
      // Earlier contents were encrypted under the old keys; their headers stay.
      if (input.wallet) await walletHistory.dropContentBefore(m, account.id, input.wallet.sequence);
      await accounts.updateCredentials(m, account.id, passwordHash, input.clientSaltSeed.toLowerCase(), input.keyParams ?? undefined);
      await tokens.deleteAllForAccount(m, account.id);
      await secondFactors.dropPasskeyUnlocks(m, account.id);
      await activity.recordIn(m, { accountId: account.id, kind: 'PASSWORD_CHANGED', ip });
      return swapped;
    });
    if (outcome.kind === 'conflict') return outcome;
    // The new wallet is announced before the revocation closes the account's live connections.
    if (outcome.wallet) events.walletUpdated(account.id, outcome.wallet.sequence);
    events.tokensRevoked(account.id);
    return outcome;
  }

  /** In ACCOUNT_WHITELIST, or put on the list in the database (which every instance reads, so a change counts at once). */
  private async whitelisted(emailNormalized: string): Promise<boolean> {
    const { config, db, whitelist } = this.deps;
    return config.accountWhitelist.has(emailNormalized) || (await db.run((m) => whitelist.contains(m, emailNormalized)));
  }

  /**
   * Deletes the account, its wallet and its tokens for good, once the password
   * is confirmed; its history, security log and known devices go with it (the
   * database cascades the delete to them).
   */
  async deleteAccount({ session, password, ip, secondFactor }: DeleteAccountData): Promise<boolean> {
    const { db, accounts, limits, credentials, secondFactors } = this.deps;
    await limits.consume('deleteAccountPerIp', ip);
    const account = await db.run((m) => accounts.findById(m, session.accountId));
    if (!account) throw wrongCredentials();
    await credentials.assertMayTry({ emailNormalized: account.emailNormalized, ip });
    await credentials.check({ account, password, ip });
    await secondFactors.check({ account, factor: secondFactor, ip, deviceId: session.deviceId });
    return this.deleteById(account.id);
  }

  /**
   * The account, its wallet and its tokens go in one transaction, and every live
   * connection of the account is told. Without a password: the API reaches it
   * only through deleteAccount, the operator through wallet-sync-admin.
   */
  async deleteById(accountId: number): Promise<boolean> {
    const { db, accounts, tokens, events } = this.deps;
    const deleted = await db.transaction(async (m) => {
      await tokens.deleteAllForAccount(m, accountId);
      return accounts.delete(m, accountId);
    });
    if (deleted) events.tokensRevoked(accountId);
    return deleted;
  }
}
