import { loadConfig } from '../../src/config';
import { isDomainError } from '../../src/errors';
import { PasswordHasher } from '../../src/lib/password';
import type { AuthSession } from '../../src/services/session';
import { TEST_ENV } from '../../test-support/test-env';
import { insertAccount, testDialect } from '../../test-support/database';
import { PASSKEY_ENV, PASSKEY_ORIGIN, WRAPPED_KEYS_VECTOR } from '../helpers/second-factor';
import { useTestServices } from '../helpers/services-under-test';
import { SoftwareAuthenticator } from '../helpers/webauthn-authenticator';

/**
 * PasskeyService and the passkey parts of the second factor, below HTTP, on a
 * real database: challenges spent once and only for their purpose and account,
 * counters advanced by one conditional write, the operator's switch, and the
 * wraps a password change drops.
 */
describe(`passkeys in the services on ${testDialect()}`, () => {
  const t = useTestServices(PASSKEY_ENV);
  const hasher = new PasswordHasher(loadConfig(TEST_ENV).passwordHashing);
  const PASSWORD = 'correct horse battery';
  const ip = '203.0.113.9';

  async function accountWithPasskey(wrappedKeys: string | null = null) {
    const { id, email } = await insertAccount(t.db, { passwordHash: await hasher.hash(PASSWORD) });
    const session: AuthSession = { tokenId: 0, accountId: id, deviceId: 'phone', expiresAt: new Date(t.clock.now().getTime() + 60_000) };
    const authenticator = new SoftwareAuthenticator(PASSKEY_ORIGIN);
    const { passkeys } = t.services;
    const options = await passkeys.beginRegistration({ session, password: PASSWORD, ip });
    const passkey = await passkeys.finishRegistration({ session, response: authenticator.create(options), name: 'Laptop', wrappedKeys, ip });
    const account = (await t.db.run((m) => t.services.repositories.accounts.findById(m, id)))!;
    return { account, email, session, authenticator, passkey };
  }

  const secondFactorOptions = (accountId: number) => t.services.passkeys.secondFactorOptions(accountId);

  it('when an account has a passkey, then a login needs it after the password, with request options naming its credential', async () => {
    const { account, authenticator } = await accountWithPasskey();
    const { secondFactors } = t.services;
    expect((await secondFactors.status(account.id)).methods).toEqual(['WEBAUTHN']);
    const required = await secondFactors.check({ account, ip }).catch((error: unknown) => error);
    expect(isDomainError(required, 'SECOND_FACTOR_REQUIRED')).toBe(true);
    const { details } = required as { details: { methods: string[]; webauthn: string } };
    expect(JSON.parse(details.webauthn).allowCredentials).toEqual([{ id: authenticator.credentialIds[0], type: 'public-key', transports: ['internal'] }]);
    const assertion = authenticator.get(details.webauthn);
    await expect(secondFactors.check({ account, ip, factor: { method: 'WEBAUTHN', assertion } })).resolves.toBe('PASSWORD_AND_WEBAUTHN');
  });

  it('when several verifications race with one assertion, then exactly one succeeds', async () => {
    const { account, authenticator } = await accountWithPasskey();
    const assertion = authenticator.get(await secondFactorOptions(account.id));
    const results = await Promise.all(Array.from({ length: 4 }, () => t.services.passkeys.verifySecondFactor(account.id, assertion)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('when a challenge is spent for another purpose or account, then nothing is spent, and its own ceremony still can', async () => {
    const { account } = await accountWithPasskey();
    const { repositories } = t.services;
    const now = t.clock.now();
    const challenge = JSON.parse(await secondFactorOptions(account.id)).challenge as string;
    const spend = (purpose: 'REGISTRATION' | 'SECOND_FACTOR' | 'SIGN_IN', accountId: number | null) =>
      t.db.run((m) => repositories.passkeys.spendChallenge(m, challenge, purpose, accountId, now));
    expect(await spend('SIGN_IN', null)).toBe(false);
    expect(await spend('REGISTRATION', account.id)).toBe(false);
    expect(await spend('SECOND_FACTOR', account.id + 1)).toBe(false);
    expect(await spend('SECOND_FACTOR', account.id)).toBe(true);
    expect(await spend('SECOND_FACTOR', account.id)).toBe(false);
  });

  it('when a use reports a counter that is not above the stored one, then the conditional write refuses it; a counter kept at 0 is always recorded', async () => {
    const { account } = await accountWithPasskey();
    const { repositories } = t.services;
    const [passkey] = await t.db.run((m) => repositories.passkeys.listForAccount(m, account.id));
    const use = (counter: number) => t.db.run((m) => repositories.passkeys.recordUse(m, passkey.id, counter, t.clock.now()));
    expect(await use(0)).toBe(true);
    expect(await use(0)).toBe(true);
    expect(await use(5)).toBe(true);
    expect(await use(5)).toBe(false);
    expect(await use(4)).toBe(false);
    expect(await use(0)).toBe(false);
    expect(await use(2 ** 32 - 1)).toBe(true);
    expect((await t.db.run((m) => repositories.passkeys.findForAccount(m, account.id, passkey.id)))!.signCount).toBe(2 ** 32 - 1);
  });

  it('when a known passkey fails a sign-in, then the security log says so; challenges nobody answered are purged after 5 minutes, not before', async () => {
    const { account, authenticator } = await accountWithPasskey();
    const { passkeys } = t.services;
    await passkeys.purgeExpiredChallenges();
    const options = await passkeys.signInOptions(ip);
    const unverified = authenticator.get(options, { userVerified: false });
    await expect(passkeys.signIn(unverified, ip)).rejects.toMatchObject({ code: 'SECOND_FACTOR_INVALID' });
    const events = await t.services.activity.list(account.id, null, 10);
    expect(events.map((e) => [e.kind, e.method])).toContainEqual(['SECOND_FACTOR_FAILED', 'WEBAUTHN']);
    await passkeys.signInOptions(ip);
    await secondFactorOptions(account.id);
    expect(await passkeys.purgeExpiredChallenges()).toBe(0);
    t.clock.advance(5 * 60 * 1000);
    expect(await passkeys.purgeExpiredChallenges()).toBe(2);
  });

  it('when two registrations race for the 10th place, then exactly one is stored (the account row is locked while it counts)', async () => {
    const { account, session, authenticator } = await accountWithPasskey();
    const { passkeys } = t.services;
    for (let i = 2; i <= 9; i += 1) {
      await passkeys.finishRegistration({ session, response: authenticator.create(await passkeys.beginRegistration({ session, password: PASSWORD, ip })), name: `Key ${i}`, wrappedKeys: null, ip });
    }
    const begun = [await passkeys.beginRegistration({ session, password: PASSWORD, ip }), await passkeys.beginRegistration({ session, password: PASSWORD, ip })];
    const results = await Promise.allSettled(begun.map((options, i) => passkeys.finishRegistration({ session, response: authenticator.create(options), name: `Race ${i}`, wrappedKeys: null, ip })));
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'BAD_USER_INPUT' } });
    expect(await passkeys.list(account.id)).toHaveLength(10);
  });

  it('when the operator turns the second factor off, then every passkey goes with it and the security log says so', async () => {
    const { account } = await accountWithPasskey();
    await t.services.passkeys.beginRegistration({ session: { tokenId: 0, accountId: account.id, deviceId: 'x', expiresAt: t.clock.now() }, password: PASSWORD, ip });
    expect(await t.services.secondFactors.disableByOperator(account.id)).toBe(true);
    expect(await t.services.passkeys.list(account.id)).toEqual([]);
    expect((await t.services.secondFactors.status(account.id)).enabled).toBe(false);
    const events = await t.services.activity.list(account.id, null, 10);
    expect(events.map((e) => [e.kind, e.method])).toContainEqual(['SECOND_FACTOR_DISABLED', 'WEBAUTHN']);
    expect(await t.services.secondFactors.disableByOperator(account.id)).toBe(false);
  });

  it('when the password changes, then every wrap is dropped and the passkeys stay', async () => {
    const { account, email, authenticator } = await accountWithPasskey(WRAPPED_KEYS_VECTOR);
    expect((await t.services.passkeys.list(account.id))[0].unlock).toBe(true);
    const assertion = authenticator.get(await secondFactorOptions(account.id));
    const outcome = await t.services.accounts.changePassword(
      { email, oldPassword: PASSWORD, newPassword: 'another good password', clientSaltSeed: 'cd'.repeat(32), secondFactor: { method: 'WEBAUTHN', assertion } },
      ip,
    );
    expect(outcome.kind).not.toBe('conflict');
    expect(await t.services.passkeys.list(account.id)).toEqual([expect.objectContaining({ name: 'Laptop', unlock: false })]);
  });
});
