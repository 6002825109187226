import type { Database } from '../db/database';
import type { AccountRow } from '../db/entities/account.entity';
import type { LoginMethod, SecondFactorMethod } from '../db/entities/account-event.entity';
import type { AccountRepository } from '../db/repositories/account.repository';
import type { SecondFactorRepository } from '../db/repositories/second-factor.repository';
import { DomainError, ErrorCode, secondFactorInvalid, secondFactorRequired, unauthenticated } from '../errors';
import { addMilliseconds, type Clock } from '../lib/clock';
import type { RateLimits } from '../lib/rate-limits';
import { newRecoveryCodes, type RecoveryCodeHasher } from '../lib/recovery-codes';
import type { SecretBox } from '../lib/secret-box';
import { matchingTotpStep, newTotpSecret, totpUri } from '../lib/totp';
import type { EntityManager } from 'typeorm';
import type { SecurityLogNote } from './activity.service';
import type { AssertionJson, SecondFactor } from './second-factor';
import type { SecondFactorChange, SecondFactorNotices } from './second-factor-notices';
import type { AuthSession } from './session';
import type { PasskeySignIn } from './passkey.service';

/** How long a beginTotp waits for its confirmTotp: long enough to find the phone, short enough that a forgotten one lapses. */
export const TOTP_ENROLMENT_TTL_MS = 10 * 60 * 1000;

export interface SecondFactorStatusData {
  /** True when any method is enabled: login then needs one. */
  enabled: boolean;
  totp: boolean;
  recoveryCodesLeft: number;
  /** What SECOND_FACTOR_REQUIRED lists: the methods a login may use now. */
  methods: SecondFactorMethod[];
}

export interface TotpEnrolmentData {
  secret: string;
  uri: string;
}

/** A request of the signed-in account that needs its login password (enrolling, disabling, new recovery codes). */
export interface PasswordConfirmed {
  session: AuthSession;
  password: string;
  ip: string;
}

/** What this service needs of the security log (ActivityLog). */
export interface SecurityLog {
  recordIn(m: EntityManager, note: SecurityLogNote): Promise<void>;
  record(note: SecurityLogNote): Promise<void>;
}

/** What this service needs of the password checks (CredentialsService). */
export interface PasswordCheck {
  assertMayTry(attempt: { emailNormalized: string; ip: string }): Promise<void>;
  check(attempt: { account: AccountRow; password: string; ip: string }): Promise<AccountRow>;
}

/** What this service needs of the passkeys (PasskeyService): they are a method of the second factor like TOTP. */
export interface PasskeyFactor {
  count(m: EntityManager, accountId: number): Promise<number>;
  secondFactorOptions(accountId: number): Promise<string>;
  verifySecondFactor(accountId: number, assertion: AssertionJson): Promise<boolean>;
  signIn(assertion: AssertionJson, ip: string): Promise<PasskeySignIn>;
  wrappedKeys(m: EntityManager, accountId: number, passkeyId: number): Promise<string | null>;
  dropWrappedKeys(m: EntityManager, accountId: number): Promise<number>;
  removeAll(m: EntityManager, accountId: number): Promise<number>;
}

export interface SecondFactorServiceDeps {
  db: Database;
  accounts: AccountRepository;
  secondFactors: SecondFactorRepository;
  /** Checks the login password that enrolling and disabling need, counting failures like a failed login. */
  credentials: PasswordCheck;
  limits: RateLimits;
  clock: Clock;
  activity: SecurityLog;
  notices: SecondFactorNotices;
  /** Seals TOTP secrets under SERVER_SECRET. */
  totpSecrets: SecretBox;
  recoveryCodes: RecoveryCodeHasher;
  /** SERVER_NAME: the issuer an authenticator app shows. */
  issuer: string;
  /** The account's passkeys; absent where passkeys are not wired (then WEBAUTHN is never a method). */
  passkeys?: PasskeyFactor;
}

const noEnrolmentPending = () =>
  new DomainError(ErrorCode.BadUserInput, 'code: no TOTP enrolment is pending (none was begun, or it lapsed after 10 minutes): call beginTotp first', {
    fields: ['code'],
  });
const noSecondFactor = () =>
  new DomainError(ErrorCode.BadUserInput, 'This account has no second factor: recovery codes come with TOTP (beginTotp, confirmTotp)');

/**
 * Why it exists: the second factor (PROTOCOL.md "Second factor"). Enrolling and
 * removing a factor need the login password as well as a token, so a stolen
 * token can do neither. At login, changePassword and deleteAccount it is asked
 * for only after a right password, so SECOND_FACTOR_REQUIRED tells nothing to
 * whoever lacks it. Failed factors spend a per-account budget of their own,
 * which only a successful factor refills. Each code works once: the database
 * spends a TOTP step or a recovery code with one conditional write, so of two
 * concurrent logins with the same code exactly one gets in.
 */
export class SecondFactorService {
  constructor(private readonly deps: SecondFactorServiceDeps) {}

  async status(accountId: number): Promise<SecondFactorStatusData> {
    const { db, secondFactors, passkeys } = this.deps;
    const [totp, recoveryCodesLeft, passkeyCount] = await Promise.all([
      db.run((m) => secondFactors.findTotp(m, accountId)),
      db.run((m) => secondFactors.countRecoveryCodes(m, accountId)),
      passkeys ? db.run((m) => passkeys.count(m, accountId)) : 0,
    ]);
    const totpEnabled = totp?.secret != null;
    const enabled = totpEnabled || passkeyCount > 0;
    const methods: SecondFactorMethod[] = [];
    if (totpEnabled) methods.push('TOTP');
    if (passkeyCount > 0) methods.push('WEBAUTHN');
    // Recovery codes stand in for a lost factor; they never make a second factor on their own.
    if (enabled && recoveryCodesLeft > 0) methods.push('RECOVERY_CODE');
    return { enabled, totp: totpEnabled, recoveryCodesLeft, methods };
  }

  /** A fresh secret and its otpauth:// URI; nothing is enabled until confirmTotp, and an enabled secret keeps working until then. */
  async beginTotp(request: PasswordConfirmed): Promise<TotpEnrolmentData> {
    const { db, secondFactors, clock, totpSecrets, issuer } = this.deps;
    const account = await this.confirmPassword(request);
    const secret = newTotpSecret();
    const expiresAt = addMilliseconds(clock.now(), TOTP_ENROLMENT_TTL_MS);
    await db.run((m) => secondFactors.beginEnrolment(m, account.id, totpSecrets.seal(secret, owner(account.id)), expiresAt));
    return { secret, uri: totpUri(secret, issuer, account.email) };
  }

  /**
   * Enables the pending secret when `code` is one of its codes; the recovery
   * codes when the account had none (empty otherwise: regenerateRecoveryCodes
   * makes new ones). The confirming code's step counts as used.
   */
  async confirmTotp({ session, code, ip }: { session: AuthSession; code: string; ip: string }): Promise<string[]> {
    const { db, secondFactors, clock, totpSecrets, activity } = this.deps;
    const accountId = session.accountId;
    const now = clock.now();
    const row = await db.run((m) => secondFactors.findTotp(m, accountId));
    if (!row?.pendingSecret || !row.pendingExpiresAt || row.pendingExpiresAt.getTime() <= now.getTime()) throw noEnrolmentPending();
    const step = matchingTotpStep(totpSecrets.open(row.pendingSecret, owner(accountId)), code, now);
    if (step === null) throw secondFactorInvalid();
    const codes = await db.transaction(async (m) => {
      if (!(await secondFactors.confirmEnrolment(m, accountId, row.pendingSecret!, step, now))) return null;
      const fresh = (await secondFactors.countRecoveryCodes(m, accountId)) === 0 ? newRecoveryCodes() : [];
      if (fresh.length > 0) await secondFactors.replaceRecoveryCodes(m, accountId, this.hashes(accountId, fresh), now);
      await activity.recordIn(m, { accountId, kind: 'SECOND_FACTOR_ENABLED', method: 'TOTP', deviceId: session.deviceId, ip });
      return fresh;
    });
    // Another confirm of the same enrolment won, or a beginTotp replaced it meanwhile.
    if (codes === null) throw noEnrolmentPending();
    await this.notify(accountId, 'TOTP_ENABLED', ip);
    return codes;
  }

  /** False when TOTP was not enabled. When it was the last method, the recovery codes go with it. */
  async disableTotp(request: PasswordConfirmed): Promise<boolean> {
    const account = await this.confirmPassword(request);
    const disabled = await this.turnOff(account.id, { deviceId: request.session.deviceId, ip: request.ip });
    if (disabled) await this.notify(account.id, 'TOTP_DISABLED', request.ip);
    return disabled;
  }

  /** Ten new codes, shown once; every earlier one stops working. */
  async regenerateRecoveryCodes(request: PasswordConfirmed): Promise<string[]> {
    const { db, secondFactors, clock, activity } = this.deps;
    const account = await this.confirmPassword(request);
    if (!(await this.status(account.id)).enabled) throw noSecondFactor();
    const codes = newRecoveryCodes();
    await db.transaction(async (m) => {
      await secondFactors.replaceRecoveryCodes(m, account.id, this.hashes(account.id, codes), clock.now());
      await activity.recordIn(m, { accountId: account.id, kind: 'SECOND_FACTOR_ENABLED', method: 'RECOVERY_CODE', deviceId: request.session.deviceId, ip: request.ip });
    });
    await this.notify(account.id, 'RECOVERY_CODES_REGENERATED', request.ip);
    return codes;
  }

  /**
   * The operator's switch (wallet-sync-admin 2fa disable) for an owner who lost
   * every factor and every recovery code: logged and mailed like the owner's own.
   * False when the account had no second factor.
   */
  async disableByOperator(accountId: number): Promise<boolean> {
    const disabled = await this.turnOff(accountId, {}, true);
    if (disabled) await this.notify(accountId, 'DISABLED_BY_OPERATOR');
    return disabled;
  }

  /**
   * After a right password: how the caller signed in. An account without a
   * second factor needs none (a factor sent anyway is ignored, as a
   * verification code is once verified); one with a second factor needs one
   * that is right and unused: SECOND_FACTOR_REQUIRED without it,
   * SECOND_FACTOR_INVALID for a wrong one, RATE_LIMITED once the account's
   * failures have spent their budget.
   */
  async check({ account, factor, ip, deviceId }: { account: AccountRow; factor?: SecondFactor; ip: string; deviceId?: string }): Promise<LoginMethod> {
    const { limits, activity, passkeys } = this.deps;
    const { methods } = await this.status(account.id);
    if (methods.length === 0) return 'PASSWORD';
    if (!factor) throw secondFactorRequired(methods, methods.includes('WEBAUTHN') && passkeys ? await passkeys.secondFactorOptions(account.id) : undefined);
    const budgetKey = String(account.id);
    await limits.assertNotExhausted('secondFactorFailuresPerAccount', budgetKey);
    if (!(await this.spend(account.id, factor))) {
      await limits.recordFailure('secondFactorFailuresPerAccount', budgetKey);
      await activity.record({ accountId: account.id, kind: 'SECOND_FACTOR_FAILED', method: factor.method, deviceId, ip });
      throw secondFactorInvalid();
    }
    await limits.reset('secondFactorFailuresPerAccount', budgetKey);
    if (factor.method === 'TOTP') return 'PASSWORD_AND_TOTP';
    if (factor.method === 'WEBAUTHN') return 'PASSWORD_AND_WEBAUTHN';
    await activity.record({ accountId: account.id, kind: 'RECOVERY_CODE_USED', method: 'RECOVERY_CODE', deviceId, ip });
    await this.notify(account.id, 'RECOVERY_CODE_USED', ip);
    return 'PASSWORD_AND_RECOVERY_CODE';
  }

  /**
   * A passkey sign-in (both factors at once): the account and the passkey, or
   * SECOND_FACTOR_INVALID (always, where no passkeys are wired).
   */
  passkeySignIn(assertion: AssertionJson, ip: string): Promise<PasskeySignIn> {
    if (!this.deps.passkeys) throw secondFactorInvalid();
    return this.deps.passkeys.signIn(assertion, ip);
  }

  /** Inside the token's transaction: the passkey's wrapped keys, null when it has none (or they were dropped). */
  async passkeyWrappedKeys(m: EntityManager, accountId: number, passkeyId: number): Promise<string | null> {
    return this.deps.passkeys ? this.deps.passkeys.wrappedKeys(m, accountId, passkeyId) : null;
  }

  /** Inside changePassword's transaction: wrapped keys hold the old keys, so no passkey unlocks any more (each still signs). */
  async dropPasskeyUnlocks(m: EntityManager, accountId: number): Promise<void> {
    if (this.deps.passkeys) await this.deps.passkeys.dropWrappedKeys(m, accountId);
  }

  /** Resolves once the owner's notices sent so far have gone. */
  idle(): Promise<void> {
    return this.deps.notices.idle();
  }

  /** True when the factor was right and is now used up (a TOTP step, or the recovery code). */
  private async spend(accountId: number, factor: SecondFactor): Promise<boolean> {
    const { db, secondFactors, clock, totpSecrets } = this.deps;
    if (factor.method === 'RECOVERY_CODE') {
      return db.run((m) => secondFactors.useRecoveryCode(m, accountId, this.deps.recoveryCodes.hash(accountId, factor.code)));
    }
    if (factor.method === 'WEBAUTHN') return this.deps.passkeys ? this.deps.passkeys.verifySecondFactor(accountId, factor.assertion) : false;
    const row = await db.run((m) => secondFactors.findTotp(m, accountId));
    if (!row?.secret) return false;
    const step = matchingTotpStep(totpSecrets.open(row.secret, owner(accountId)), factor.code, clock.now());
    return step !== null && (await db.run((m) => secondFactors.useTotpStep(m, accountId, step)));
  }

  /** TOTP off; `passkeysToo` (the operator's switch) removes every passkey as well. False when there was nothing to turn off. */
  private async turnOff(accountId: number, where: { deviceId?: string; ip?: string }, passkeysToo = false): Promise<boolean> {
    const { db, secondFactors, activity, passkeys } = this.deps;
    return db.transaction(async (m) => {
      const totpOff = await secondFactors.disableTotp(m, accountId);
      const passkeysRemoved = passkeysToo && passkeys ? await passkeys.removeAll(m, accountId) : 0;
      if (!totpOff && passkeysRemoved === 0) return false;
      // Removing the last method turns the second factor off, and recovery codes never stand alone.
      if (!passkeys || (await passkeys.count(m, accountId)) === 0) await secondFactors.deleteRecoveryCodes(m, accountId);
      if (totpOff) await activity.recordIn(m, { accountId, kind: 'SECOND_FACTOR_DISABLED', method: 'TOTP', ...where });
      if (passkeysRemoved > 0) await activity.recordIn(m, { accountId, kind: 'SECOND_FACTOR_DISABLED', method: 'WEBAUTHN', ...where });
      return true;
    });
  }

  /** The account behind the session, once its login password is confirmed (a wrong one counts as a failed login). */
  async confirmPassword({ session, password, ip }: PasswordConfirmed): Promise<AccountRow> {
    const { db, accounts, credentials } = this.deps;
    const account = await db.run((m) => accounts.findById(m, session.accountId));
    if (!account) throw unauthenticated('This account no longer exists');
    await credentials.assertMayTry({ emailNormalized: account.emailNormalized, ip });
    return credentials.check({ account, password, ip });
  }

  private hashes(accountId: number, codes: string[]): string[] {
    return codes.map((code) => this.deps.recoveryCodes.hash(accountId, code));
  }

  private async notify(accountId: number, change: SecondFactorChange, ip?: string): Promise<void> {
    const account = await this.deps.db.run((m) => this.deps.accounts.findById(m, accountId));
    if (account) this.deps.notices.send({ email: account.email, change, at: this.deps.clock.now(), ip });
  }
}

/** A sealed TOTP secret belongs to its account: one copied to another account's row does not open there. */
const owner = (accountId: number) => `account:${accountId}`;
