import { unauthenticated, wrongCredentials } from '../errors';
import { DAY_MS, addMilliseconds } from '../lib/clock';
import { hashToken, newSecretToken } from '../lib/tokens';
import { networkPrefix } from '../lib/network-prefix';
import { verifyCredentials } from './credentials';
import { newDeviceMail } from './notices';
import type { ActiveToken } from '../db/repositories/auth-token.repository';
import type { AuthSession, ServiceDeps, WalletStateData } from './types';

/** lastUsedAt is bookkeeping, not security: refreshing it once a minute keeps reads free of writes. */
const TOUCH_INTERVAL_MS = 60_000;

export interface IssuedToken {
  token: string;
  deviceId: string;
  expiresAt: Date;
}

export interface DeviceInfo {
  deviceId: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
}

/** Why it exists: trades a password for a per-device auth token, and turns a token back into a session. */
export class SessionService {
  constructor(private readonly deps: ServiceDeps) {}

  async login(email: string, password: string, deviceId: string, ip: string): Promise<IssuedToken> {
    const { db, accounts, tokens, knownDevices, activity, clock, config, limits } = this.deps;
    await limits.consume('loginPerIp', ip);
    const account = await verifyCredentials(this.deps, email, password, ip);

    const token = newSecretToken();
    const now = clock.now();
    const expiresAt = addMilliseconds(now, config.tokenTtlDays * DAY_MS);
    // The password was checked against the hash read above. If a password change
    // committed since, that hash is gone and so must be this login: the token is
    // only written while the account row still holds the hash we verified.
    const issued = await db.transaction(async (m) => {
      if (!(await accounts.lockIfPasswordHash(m, account.id, account.passwordHash))) return null;
      await tokens.upsertForDevice(m, { accountId: account.id, deviceId, tokenHash: hashToken(token), createdAt: now, lastUsedAt: now, expiresAt });
      const newDevice = await knownDevices.remember(m, account.id, deviceId, now);
      await activity.recordIn(m, account.id, 'LOGIN', { deviceId, newDevice, ip });
      return { newDevice };
    });
    if (!issued) throw wrongCredentials();
    if (issued.newDevice && this.deps.mailConfigured) {
      this.deps.mailer
        .send(newDeviceMail(account.email, deviceId, now, networkPrefix(ip)))
        .catch((error) => this.deps.reportError(error, 'sending the new-device notice'));
    }
    // The device's previous token, if any, was just replaced and stopped working.
    this.deps.events.tokensRevoked(account.id, deviceId);
    return { token, deviceId, expiresAt };
  }

  /** Bearer token → session; UNAUTHENTICATED for anything unknown, expired or revoked. */
  async authenticate(rawToken: string): Promise<AuthSession> {
    const token = await this.deps.db.run((m) => this.deps.tokens.findByHash(m, hashToken(rawToken)));
    return this.sessionOf(token);
  }

  /**
   * As authenticate, and the account's wallet read by the same statement: a
   * walletState request, the commonest of all, costs one query instead of two.
   */
  async authenticateWithWallet(rawToken: string): Promise<{ session: AuthSession; wallet: WalletStateData | null }> {
    const found = await this.deps.db.run((m) => this.deps.wallets.findWithToken(m, hashToken(rawToken)));
    const session = await this.sessionOf(found?.token ?? null);
    return { session, wallet: found!.wallet };
  }

  private async sessionOf(token: ActiveToken | null): Promise<AuthSession> {
    const { db, tokens, clock } = this.deps;
    const now = clock.now();
    if (!token || token.expiresAt.getTime() <= now.getTime()) {
      throw unauthenticated('This token is unknown, expired or revoked: log in again');
    }
    if (now.getTime() - token.lastUsedAt.getTime() >= TOUCH_INTERVAL_MS) {
      await db.run((m) => tokens.touch(m, token.id, now));
    }
    return { tokenId: token.id, accountId: token.accountId, deviceId: token.deviceId, expiresAt: token.expiresAt };
  }

  async logout(session: AuthSession, ip?: string): Promise<boolean> {
    const revoked = await this.deps.db.run((m) => this.deps.tokens.deleteById(m, session.tokenId));
    if (revoked) {
      this.deps.events.tokensRevoked(session.accountId, session.deviceId);
      await this.deps.activity.record(session.accountId, 'LOGOUT', { deviceId: session.deviceId, ip });
    }
    return revoked;
  }

  /** False when the account has no token for that device. */
  async revokeDevice(session: AuthSession, deviceId: string, ip?: string): Promise<boolean> {
    const revoked = await this.deps.db.run((m) => this.deps.tokens.deleteForDevice(m, session.accountId, deviceId));
    if (revoked) {
      this.deps.events.tokensRevoked(session.accountId, deviceId);
      await this.deps.activity.record(session.accountId, 'DEVICE_REVOKED', { deviceId, ip });
    }
    return revoked;
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
