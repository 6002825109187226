import type { Database } from '../db/database';
import type { AccountRepository } from '../db/repositories/account.repository';
import type { ActiveToken, AuthTokenRepository } from '../db/repositories/auth-token.repository';
import type { WalletRepository } from '../db/repositories/wallet.repository';
import type { DomainEvents } from '../events/domain-events';
import { unauthenticated, wrongCredentials } from '../errors';
import { DAY_MS, addMilliseconds, type Clock } from '../lib/clock';
import type { RateLimits } from '../lib/rate-limits';
import { hashToken, newSecretToken } from '../lib/tokens';
import type { KnownDeviceRepository } from '../db/repositories/known-device.repository';
import type { ActivityLog } from './activity.service';
import type { CredentialsService } from './credentials.service';
import type { NewDeviceNotices } from './notices';
import type { AuthSession } from './session';
import type { AssertionJson, SecondFactor } from './second-factor';
import type { AccountRow } from '../db/entities/account.entity';
import type { LoginMethod } from '../db/entities/account-event.entity';
import type { EntityManager } from 'typeorm';
import type { SecondFactorService } from './second-factor.service';
import type { WalletState } from './wallet-state';

/**
 * lastUsedAt, and with it the sliding expiry, is refreshed at most once a minute:
 * most reads stay free of writes, and a token lives at most a minute less than
 * TOKEN_TTL_DAYS after its true last use.
 */
const TOUCH_INTERVAL_MS = 60_000;
/** Tokens checked per statement by stillValid (well under every database's limit on bound parameters). */
const STILL_VALID_BATCH = 500;

/** The one rule for whether a stored token still authenticates. */
function isLive(token: ActiveToken, now: Date): boolean {
  return token.expiresAt.getTime() > now.getTime();
}

export interface TokenLifetime {
  ttlDays: number;
  maxAgeDays: number;
}

export interface IssuedToken {
  token: string;
  deviceId: string;
  expiresAt: Date;
}

/** What a passkey sign-in presents: the browser's assertion, the device it is for and the client's address. */
export interface PasskeyLoginRequest {
  assertion: AssertionJson;
  deviceId: string;
  ip: string;
}

/** A login whose factors were checked, about to get its token. */
interface TokenIssue<T> {
  account: AccountRow;
  deviceId: string;
  ip: string;
  loginMethod: LoginMethod;
  within?: (m: EntityManager) => Promise<T>;
}

export interface PasskeyLoginData {
  token: IssuedToken;
  /** The signed-in account: its email and key parameters go back to the device. */
  account: AccountRow;
  wrappedKeys: string | null;
}

export interface DeviceInfo {
  deviceId: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
}

export interface SessionServiceDeps {
  db: Database;
  accounts: AccountRepository;
  tokens: AuthTokenRepository;
  wallets: WalletRepository;
  knownDevices: KnownDeviceRepository;
  credentials: CredentialsService;
  /** After a right password, an account with a second factor needs it too. */
  secondFactors: SecondFactorService;
  limits: RateLimits;
  clock: Clock;
  events: DomainEvents;
  activity: ActivityLog;
  newDeviceNotices: NewDeviceNotices;
  /** TOKEN_TTL_DAYS and TOKEN_MAX_AGE_DAYS: how long a token works after its last use, and after its login at the latest. */
  tokenLifetime: TokenLifetime;
}

/** What a login presents: the credentials, the device it is for and the client's address. */
export interface LoginData {
  email: string;
  password: string;
  deviceId: string;
  ip: string;
  /** EmailVerify's code, needed once, at the login that turns a pending registration into the account. */
  verificationCode?: string;
  /** Needed when the account has a second factor. */
  secondFactor?: SecondFactor;
}

/** Why it exists: trades a password for a per-device auth token, and turns a token back into a session. */
export class SessionService {
  constructor(private readonly deps: SessionServiceDeps) {}

  async login({ email, password, deviceId, ip, verificationCode, secondFactor }: LoginData): Promise<IssuedToken> {
    const { credentials, secondFactors, limits } = this.deps;
    await limits.consume('loginPerIp', ip);
    const account = await credentials.verify({ email, password, ip, verificationCode });
    const loginMethod = await secondFactors.check({ account, factor: secondFactor, ip, deviceId });
    return (await this.issue({ account, deviceId, ip, loginMethod })).issued;
  }

  /**
   * A passkey sign-in: both factors at once (PROTOCOL.md "Passkey sign-in").
   * The token, and the passkey's wrapped keys as the same transaction sees
   * them: a password change that committed first has dropped them.
   */
  async loginWithPasskey({ assertion, deviceId, ip }: PasskeyLoginRequest): Promise<PasskeyLoginData> {
    const { secondFactors, limits } = this.deps;
    await limits.consume('loginPerIp', ip);
    const { account, passkeyId } = await secondFactors.passkeySignIn(assertion, ip);
    const { issued, within } = await this.issue({
      account,
      deviceId,
      ip,
      loginMethod: 'PASSKEY',
      within: (m) => secondFactors.passkeyWrappedKeys(m, account.id, passkeyId),
    });
    return { token: issued, account, wrappedKeys: within ?? null };
  }

  /**
   * The token issuing both logins share: writes the device's token, remembers
   * the device and logs the login; `within` reads more in the same transaction.
   */
  private async issue<T>({ account, deviceId, ip, loginMethod, within }: TokenIssue<T>): Promise<{ issued: IssuedToken; within: T | undefined }> {
    const { db, accounts, tokens, knownDevices, clock, events, activity, newDeviceNotices } = this.deps;
    const token = newSecretToken();
    const now = clock.now();
    const expiresAt = this.expiryAt(now, now);
    // The password was checked against the hash read above. If a password change
    // committed since, that hash is gone and so must be this login: the token is
    // only written while the account row still holds the hash we verified.
    const issued = await db.transaction(async (m) => {
      if (!(await accounts.lockIfPasswordHash(m, account.id, account.passwordHash))) return null;
      await tokens.upsertForDevice(m, { accountId: account.id, deviceId, tokenHash: hashToken(token), createdAt: now, lastUsedAt: now, expiresAt });
      const newDevice = await knownDevices.remember(m, account.id, deviceId, now);
      await activity.recordIn(m, { accountId: account.id, kind: 'LOGIN', deviceId, newDevice, ip, loginMethod });
      return { newDevice, within: within ? await within(m) : undefined };
    });
    if (!issued) throw wrongCredentials();
    if (issued.newDevice) newDeviceNotices.send({ email: account.email, deviceId, at: now, ip });
    // The device's previous token, if any, was just replaced and stopped working.
    events.tokensRevoked(account.id, deviceId);
    return { issued: { token, deviceId, expiresAt }, within: issued.within };
  }

  /** Bearer token → session; UNAUTHENTICATED for anything unknown, expired or revoked. */
  async authenticate(rawToken: string): Promise<AuthSession> {
    const token = await this.deps.db.statement((m) => this.deps.tokens.findByHash(m, hashToken(rawToken)));
    return this.sessionOf(token);
  }

  /**
   * As authenticate, and the account's wallet read by the same statement: a
   * walletState request, the commonest of all, costs one query instead of two.
   */
  async authenticateWithWallet(rawToken: string): Promise<{ session: AuthSession; wallet: WalletState | null }> {
    const found = await this.deps.db.statement((m) => this.deps.wallets.findWithToken(m, hashToken(rawToken)));
    const session = await this.sessionOf(found?.token ?? null);
    return { session, wallet: found!.wallet };
  }

  /**
   * Which of `rawTokens` still authenticate (not revoked, replaced or expired),
   * without counting as a use: for checking open connections again. One
   * statement per batch.
   */
  async stillValid(rawTokens: readonly string[]): Promise<Set<string>> {
    const now = this.deps.clock.now();
    const valid = new Set<string>();
    for (let i = 0; i < rawTokens.length; i += STILL_VALID_BATCH) {
      const batch = rawTokens.slice(i, i + STILL_VALID_BATCH);
      const hashes = new Map(batch.map((raw) => [hashToken(raw), raw]));
      const found = await this.deps.db.run((m) => this.deps.tokens.findByHashes(m, [...hashes.keys()]));
      for (const [hash, token] of found) if (isLive(token, now)) valid.add(hashes.get(hash)!);
    }
    return valid;
  }

  private async sessionOf(token: ActiveToken | null): Promise<AuthSession> {
    const now = this.deps.clock.now();
    if (!token || !isLive(token, now)) {
      throw unauthenticated('This token is unknown, expired or revoked: log in again');
    }
    let expiresAt = token.expiresAt;
    if (now.getTime() - token.lastUsedAt.getTime() >= TOUCH_INTERVAL_MS) {
      expiresAt = this.expiryAt(now, token.createdAt);
      await this.deps.db.statement((m) => this.deps.tokens.touch(m, token.id, now, expiresAt));
    }
    return { tokenId: token.id, accountId: token.accountId, deviceId: token.deviceId, expiresAt };
  }

  /** TOKEN_TTL_DAYS after `usedAt` (sliding), but never past TOKEN_MAX_AGE_DAYS after the login at `issuedAt`. */
  private expiryAt(usedAt: Date, issuedAt: Date): Date {
    const sliding = addMilliseconds(usedAt, this.deps.tokenLifetime.ttlDays * DAY_MS);
    const cap = addMilliseconds(issuedAt, this.deps.tokenLifetime.maxAgeDays * DAY_MS);
    return sliding.getTime() < cap.getTime() ? sliding : cap;
  }

  async logout(session: AuthSession, ip?: string): Promise<boolean> {
    const revoked = await this.revokeToken(session.accountId, (m) => this.deps.tokens.deleteById(m, session.tokenId));
    if (revoked) {
      this.deps.events.tokensRevoked(session.accountId, session.deviceId);
      await this.deps.activity.record({ accountId: session.accountId, kind: 'LOGOUT', deviceId: session.deviceId, ip });
    }
    return revoked;
  }

  /** False when the account has no token for that device. */
  async revokeDevice(session: AuthSession, deviceId: string, ip?: string): Promise<boolean> {
    return this.revokeOne(session.accountId, deviceId, ip);
  }

  /** The operator's revocation (wallet-sync-admin): `deviceId`'s token, or every device's; how many stopped working. */
  async revoke(accountId: number, deviceId?: string): Promise<number> {
    const devices = deviceId !== undefined ? [deviceId] : (await this.deps.db.run((m) => this.deps.tokens.listForAccount(m, accountId))).map((row) => row.deviceId);
    let revoked = 0;
    for (const device of devices) if (await this.revokeOne(accountId, device)) revoked += 1;
    return revoked;
  }

  /** The token goes, every instance closes the device's live connections, and the security log says so. */
  private async revokeOne(accountId: number, deviceId: string, ip?: string): Promise<boolean> {
    const revoked = await this.revokeToken(accountId, (m) => this.deps.tokens.deleteForDevice(m, accountId, deviceId));
    if (revoked) {
      this.deps.events.tokensRevoked(accountId, deviceId);
      await this.deps.activity.record({ accountId, kind: 'DEVICE_REVOKED', deviceId, ip });
    }
    return revoked;
  }

  /**
   * Deletes a token (`remove`: whether there was one) in a transaction that
   * also claims the account's wallet (WalletRepository.claim), which every
   * upload writes: an upload whose token this revokes lands before it or not
   * at all, also on a Galera cluster, where the upload's locking read of its
   * token is local to its node and a delete through another node would not
   * meet it. The account row first, as uploads and password changes take it:
   * on one server the three never deadlock.
   */
  private revokeToken(accountId: number, remove: (m: EntityManager) => Promise<boolean>): Promise<boolean> {
    const { db, wallets } = this.deps;
    return db.transaction(async (m) => {
      await wallets.lockAccount(m, accountId);
      if (!(await remove(m))) return false;
      await wallets.claim(m, accountId);
      return true;
    });
  }

  async devices(accountId: number): Promise<DeviceInfo[]> {
    const now = this.deps.clock.now().getTime();
    const rows = await this.deps.db.run((m) => this.deps.tokens.listForAccount(m, accountId));
    return rows
      .filter((row) => row.expiresAt.getTime() > now)
      .map(({ deviceId, createdAt, lastUsedAt, expiresAt }) => ({ deviceId, createdAt, lastUsedAt, expiresAt }));
  }

  async purgeExpired(): Promise<number> {
    return this.deps.db.run((m) => this.deps.tokens.purgeExpired(m, this.deps.clock.now()));
  }
}
