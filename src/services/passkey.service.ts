import { createHash, createHmac } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticatorTransport,
} from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import type { EntityManager } from 'typeorm';
import type { WebauthnConfig } from '../config';
import type { Database } from '../db/database';
import type { AccountRow } from '../db/entities/account.entity';
import type { ChallengePurpose, PasskeyRow } from '../db/entities/passkey.entity';
import type { AccountRepository } from '../db/repositories/account.repository';
import type { PasskeyRepository } from '../db/repositories/passkey.repository';
import type { SecondFactorRepository } from '../db/repositories/second-factor.repository';
import { DomainError, ErrorCode, badUserInput, secondFactorInvalid } from '../errors';
import { addMilliseconds, type Clock } from '../lib/clock';
import type { RateLimits } from '../lib/rate-limits';
import type { AssertionJson, RegistrationJson } from './second-factor';
import type { SecondFactorNotices } from './second-factor-notices';
import type { PasswordConfirmed, SecurityLog } from './second-factor.service';
import type { AuthSession } from './session';

/** How long a challenge waits for its answer (PROTOCOL.md): a browser prompt, not a coffee break. */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;
/** PROTOCOL.md "Second factor": up to 10 passkeys per account. */
export const MAX_PASSKEYS_PER_ACCOUNT = 10;

export interface PasskeyData {
  /** The passkey's id as the API names it (Passkey.id). */
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  /** It holds wrapped keys: it can unlock the wallet without the root password. */
  unlock: boolean;
}

export interface PasskeySignIn {
  account: AccountRow;
  passkeyId: number;
}

export interface PasskeyServiceDeps {
  db: Database;
  accounts: AccountRepository;
  passkeys: PasskeyRepository;
  /** Whether TOTP is still on, and the recovery codes that go when the last method does. */
  secondFactors: SecondFactorRepository;
  /** The account of a request that must carry its login password (a wrong one counts as a failed login). */
  confirmPassword: (request: PasswordConfirmed) => Promise<AccountRow>;
  limits: RateLimits;
  clock: Clock;
  activity: SecurityLog;
  notices: SecondFactorNotices;
  /** WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS, and SERVER_NAME as the name a passkey prompt shows. */
  relyingParty: WebauthnConfig & { name: string };
  /** Keys the WebAuthn user handle of an account (SERVER_SECRET): stable per account, and no account id on the authenticator. */
  serverSecret: string;
}

const challengeRefused = () =>
  badUserInput(
    'response',
    'its challenge was not issued by beginPasskeyRegistration for this account, or it expired (after 5 minutes) or was used already: call beginPasskeyRegistration again',
  );
const noSuchPasskey = () => badUserInput('id', 'this account has no passkey with this id');

/**
 * Why it exists: passkeys (PROTOCOL.md "Second factor" and "Passkey sign-in
 * that unlocks the wallet"). @simplewebauthn/server verifies every
 * attestation and assertion; this service decides which challenge an answer
 * may spend (issued for the same purpose and account, unexpired, unused: the
 * database spends it with one conditional DELETE, so a replay loses) and which
 * credential may sign (its counter must advance where the authenticator keeps
 * one). The wrapped keys it stores are opaque: nothing here can unwrap them.
 */
export class PasskeyService {
  constructor(private readonly deps: PasskeyServiceDeps) {}

  async list(accountId: number): Promise<PasskeyData[]> {
    const rows = await this.deps.db.run((m) => this.deps.passkeys.listForAccount(m, accountId));
    return rows.map(toData);
  }

  count(m: EntityManager, accountId: number): Promise<number> {
    return this.deps.passkeys.countForAccount(m, accountId);
  }

  /** WebAuthn creation options (JSON) for a new passkey of the account: a discoverable credential with user verification, its existing ones excluded. */
  async beginRegistration(request: PasswordConfirmed): Promise<string> {
    const { db, passkeys, relyingParty } = this.deps;
    const account = await this.deps.confirmPassword(request);
    const existing = await db.run((m) => passkeys.listForAccount(m, account.id));
    if (existing.length >= MAX_PASSKEYS_PER_ACCOUNT) throw tooMany();
    const options = await generateRegistrationOptions({
      rpName: relyingParty.name,
      rpID: relyingParty.rpId,
      userName: account.email,
      userDisplayName: account.email,
      userID: this.userHandle(account.id),
      attestationType: 'none',
      excludeCredentials: existing.map((row) => ({ id: row.credentialId, transports: transportsOf(row) })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      timeout: CHALLENGE_TTL_MS,
    });
    await this.issue(options.challenge, 'REGISTRATION', account.id);
    return JSON.stringify(options);
  }

  /**
   * Verifies the browser's registration response for the account's
   * registration challenge and stores the passkey (with `wrappedKeys` when
   * given). BAD_USER_INPUT, and nothing stored, for a response that does not
   * verify, answers another challenge, or would be the 11th passkey.
   */
  async finishRegistration({
    session,
    response,
    name,
    wrappedKeys,
    ip,
  }: {
    session: AuthSession;
    response: RegistrationJson;
    name: string;
    wrappedKeys: string | null;
    ip: string;
  }): Promise<PasskeyData> {
    const { db, passkeys, clock, activity, relyingParty } = this.deps;
    const accountId = session.accountId;
    const challenge = challengeOf(response.response.clientDataJSON, 'response');
    if (!(await this.spend(challenge, 'REGISTRATION', accountId))) throw challengeRefused();
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response: response as Parameters<typeof verifyRegistrationResponse>[0]['response'],
        expectedChallenge: challenge,
        expectedOrigin: [...relyingParty.origins],
        expectedRPID: relyingParty.rpId,
        requireUserVerification: true,
      });
    } catch (error) {
      throw badUserInput('response', `the registration does not verify: ${reasonOf(error)}`);
    }
    if (!verified.verified) throw badUserInput('response', 'the registration does not verify');
    const { credential } = verified.registrationInfo;
    const now = clock.now();
    const outcome = await db.transaction(async (m) => {
      const added = await passkeys.add(
        m,
        {
          accountId,
          credentialHash: credentialHash(credential.id),
          credentialId: credential.id,
          publicKey: isoBase64URL.fromBuffer(credential.publicKey),
          signCount: credential.counter,
          transports: credential.transports?.length ? credential.transports.join(',') : null,
          name,
          wrappedKeys,
          createdAt: now,
        },
        MAX_PASSKEYS_PER_ACCOUNT,
      );
      if (added.kind === 'added') await activity.recordIn(m, { accountId, kind: 'PASSKEY_ADDED', method: 'WEBAUTHN', deviceId: session.deviceId, ip });
      return added;
    });
    if (outcome.kind === 'full') throw tooMany();
    if (outcome.kind === 'taken') throw badUserInput('response', 'this passkey is registered already');
    await this.notify(accountId, 'PASSKEY_ADDED', ip);
    return { id: String(outcome.id), name, createdAt: now, lastUsedAt: null, unlock: wrappedKeys !== null };
  }

  /** Sets, replaces or (null) removes a passkey's wrapped keys. */
  async setUnlock({ session, id, wrappedKeys }: { session: AuthSession; id: string; wrappedKeys: string | null }): Promise<PasskeyData> {
    const { db, passkeys } = this.deps;
    const passkeyId = idOf(id);
    const row = await db.transaction(async (m) => {
      if (passkeyId === null || !(await passkeys.setWrappedKeys(m, session.accountId, passkeyId, wrappedKeys))) return null;
      return passkeys.findForAccount(m, session.accountId, passkeyId);
    });
    if (!row) throw noSuchPasskey();
    return toData(row);
  }

  /** False when the account has no such passkey. Removing the last method turns the second factor off: the recovery codes go too. */
  async remove(request: PasswordConfirmed & { id: string }): Promise<boolean> {
    const { db, passkeys, secondFactors, activity } = this.deps;
    const passkeyId = idOf(request.id);
    const account = await this.deps.confirmPassword(request);
    if (passkeyId === null) return false;
    const removed = await db.transaction(async (m) => {
      if (!(await passkeys.remove(m, account.id, passkeyId))) return false;
      const totp = await secondFactors.findTotp(m, account.id);
      if (totp?.secret == null && (await passkeys.countForAccount(m, account.id)) === 0) await secondFactors.deleteRecoveryCodes(m, account.id);
      await activity.recordIn(m, { accountId: account.id, kind: 'PASSKEY_REMOVED', method: 'WEBAUTHN', deviceId: request.session.deviceId, ip: request.ip });
      return true;
    });
    if (removed) await this.notify(account.id, 'PASSKEY_REMOVED', request.ip);
    return removed;
  }

  /** Request options (JSON) for the second factor of a login: a fresh challenge bound to the account, its credentials allowed. */
  async secondFactorOptions(accountId: number): Promise<string> {
    const { db, passkeys, relyingParty } = this.deps;
    const rows = await db.run((m) => passkeys.listForAccount(m, accountId));
    const options = await generateAuthenticationOptions({
      rpID: relyingParty.rpId,
      allowCredentials: rows.map((row) => ({ id: row.credentialId, transports: transportsOf(row) })),
      // The password was right already: a security key without a PIN is a second factor too.
      userVerification: 'preferred',
      timeout: CHALLENGE_TTL_MS,
    });
    await this.issue(options.challenge, 'SECOND_FACTOR', accountId);
    return JSON.stringify(options);
  }

  /** True when the assertion is one of the account's passkeys answering the account's second-factor challenge; the challenge is spent either way. */
  async verifySecondFactor(accountId: number, assertion: AssertionJson): Promise<boolean> {
    const passkey = await this.deps.db.run((m) => this.deps.passkeys.findByCredentialHash(m, credentialHash(assertion.id)));
    const challenge = challengeOf(assertion.response.clientDataJSON, 'secondFactor.webauthn');
    if (!(await this.spend(challenge, 'SECOND_FACTOR', accountId))) return false;
    if (!passkey || passkey.accountId !== accountId) return false;
    return this.verifyAssertion(passkey, assertion, challenge, false);
  }

  /** Request options (JSON) for a passkey sign-in: a fresh challenge and no allowCredentials (the discoverable credential picks the account). */
  async signInOptions(ip: string): Promise<string> {
    const { db, passkeys, clock, limits, relyingParty } = this.deps;
    // Public and writes a row: budgeted like the other pre-login lookup, and each call clears what lapsed.
    await limits.consume('clientSaltSeedPerIp', ip);
    await db.run((m) => passkeys.purgeExpiredChallenges(m, clock.now()));
    const options = await generateAuthenticationOptions({ rpID: relyingParty.rpId, userVerification: 'required', timeout: CHALLENGE_TTL_MS });
    await this.issue(options.challenge, 'SIGN_IN', null);
    return JSON.stringify(options);
  }

  /**
   * Both factors at once: a discoverable passkey, with user verification,
   * answering a sign-in challenge. SECOND_FACTOR_INVALID for anything else
   * (an unknown credential, another challenge, a bad signature, a counter
   * that did not advance); failures spend the account's second-factor budget.
   */
  async signIn(assertion: AssertionJson, ip: string): Promise<PasskeySignIn> {
    const { db, passkeys, accounts, limits, activity } = this.deps;
    const challenge = challengeOf(assertion.response.clientDataJSON, 'assertion');
    const passkey = await db.run((m) => passkeys.findByCredentialHash(m, credentialHash(assertion.id)));
    if (!(await this.spend(challenge, 'SIGN_IN', null)) || !passkey) throw secondFactorInvalid();
    const budgetKey = String(passkey.accountId);
    await limits.assertNotExhausted('secondFactorFailuresPerAccount', budgetKey);
    const handle = assertion.response.userHandle;
    const handleMatches = handle === undefined || handle === isoBase64URL.fromBuffer(this.userHandle(passkey.accountId));
    if (!handleMatches || !(await this.verifyAssertion(passkey, assertion, challenge, true))) {
      await limits.recordFailure('secondFactorFailuresPerAccount', budgetKey);
      await activity.record({ accountId: passkey.accountId, kind: 'SECOND_FACTOR_FAILED', method: 'WEBAUTHN', ip });
      throw secondFactorInvalid();
    }
    await limits.reset('secondFactorFailuresPerAccount', budgetKey);
    const account = await db.run((m) => accounts.findById(m, passkey.accountId));
    if (!account) throw secondFactorInvalid();
    return { account, passkeyId: passkey.id };
  }

  /** Challenges nobody answered within 5 minutes (the hourly maintenance); how many went. */
  purgeExpiredChallenges(): Promise<number> {
    return this.deps.db.run((m) => this.deps.passkeys.purgeExpiredChallenges(m, this.deps.clock.now()));
  }

  /** The passkey's wrapped keys as they are now (inside the token's transaction: a password change that committed first has dropped them). */
  async wrappedKeys(m: EntityManager, accountId: number, passkeyId: number): Promise<string | null> {
    return (await this.deps.passkeys.findForAccount(m, accountId, passkeyId))?.wrappedKeys ?? null;
  }

  dropWrappedKeys(m: EntityManager, accountId: number): Promise<number> {
    return this.deps.passkeys.dropWrappedKeys(m, accountId);
  }

  removeAll(m: EntityManager, accountId: number): Promise<number> {
    return this.deps.passkeys.removeAll(m, accountId);
  }

  private async verifyAssertion(passkey: PasskeyRow, assertion: AssertionJson, challenge: string, requireUserVerification: boolean): Promise<boolean> {
    const { db, passkeys, clock, relyingParty } = this.deps;
    let newCounter: number;
    try {
      const result = await verifyAuthenticationResponse({
        response: assertion as Parameters<typeof verifyAuthenticationResponse>[0]['response'],
        expectedChallenge: challenge,
        expectedOrigin: [...relyingParty.origins],
        expectedRPID: relyingParty.rpId,
        credential: {
          id: passkey.credentialId,
          publicKey: isoBase64URL.toBuffer(passkey.publicKey),
          counter: passkey.signCount,
          transports: transportsOf(passkey),
        },
        requireUserVerification,
      });
      if (!result.verified) return false;
      newCounter = result.authenticationInfo.newCounter;
    } catch {
      // A bad signature, origin, RP ID, missing user verification, or a counter that did not advance: all one answer.
      return false;
    }
    return db.run((m) => passkeys.recordUse(m, passkey.id, newCounter, clock.now()));
  }

  private async issue(challenge: string, purpose: ChallengePurpose, accountId: number | null): Promise<void> {
    const { db, passkeys, clock } = this.deps;
    await db.run((m) => passkeys.issueChallenge(m, { challenge, purpose, accountId, expiresAt: addMilliseconds(clock.now(), CHALLENGE_TTL_MS) }));
  }

  private spend(challenge: string, purpose: ChallengePurpose, accountId: number | null): Promise<boolean> {
    return this.deps.db.run((m) => this.deps.passkeys.spendChallenge(m, challenge, purpose, accountId, this.deps.clock.now()));
  }

  private userHandle(accountId: number): Uint8Array<ArrayBuffer> {
    return new Uint8Array(createHmac('sha256', this.deps.serverSecret).update(`webauthn user handle:${accountId}`).digest());
  }

  private async notify(accountId: number, change: 'PASSKEY_ADDED' | 'PASSKEY_REMOVED', ip: string): Promise<void> {
    const account = await this.deps.db.run((m) => this.deps.accounts.findById(m, accountId));
    if (account) this.deps.notices.send({ email: account.email, change, at: this.deps.clock.now(), ip });
  }
}

const tooMany = () =>
  new DomainError(ErrorCode.BadUserInput, `This account has ${MAX_PASSKEYS_PER_ACCOUNT} passkeys, the most it may have: remove one first (removePasskey)`);

const credentialHash = (credentialId: string) => createHash('sha256').update(credentialId).digest('hex');

const transportsOf = (row: PasskeyRow): AuthenticatorTransport[] | undefined =>
  row.transports ? (row.transports.split(',') as AuthenticatorTransport[]) : undefined;

const toData = (row: PasskeyRow): PasskeyData => ({
  id: String(row.id),
  name: row.name,
  createdAt: row.createdAt,
  lastUsedAt: row.lastUsedAt,
  unlock: row.wrappedKeys !== null,
});

/** A Passkey.id as the API gives it out (a positive integer); null for anything else, which names no passkey. */
function idOf(id: string): number | null {
  return /^[1-9]\d{0,9}$/.test(id) && Number(id) <= 2 ** 31 - 1 ? Number(id) : null;
}

/** The challenge a ceremony answers, read from its clientDataJSON; BAD_USER_INPUT naming `field` when there is none to read. */
function challengeOf(clientDataJSON: string, field: string): string {
  try {
    const clientData = JSON.parse(isoBase64URL.toUTF8String(clientDataJSON)) as { challenge?: unknown };
    if (typeof clientData?.challenge === 'string' && clientData.challenge.length > 0 && clientData.challenge.length <= 64) return clientData.challenge;
  } catch {
    // Reported below.
  }
  throw badUserInput(field, 'response.clientDataJSON must be base64url of the client data JSON with its challenge');
}

/** @simplewebauthn/server's reason, which describes the response (never the server): cut short, it is safe to show. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : 'unreadable';
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}
