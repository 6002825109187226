import { errorCode } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { ManualClock } from '../helpers/clock';
import { createTestDatabase, testDialect, type TestDatabase } from '../../test-support/database';
import { describeWith, databaseServerRequirement } from '../helpers/required-services';
import { login, newSeed, register, type Device } from '../../test-support/operations';
import {
  AccountActivityDocument,
  BeginPasskeyRegistrationDocument,
  ChangePasswordDocument,
  FinishPasskeyRegistrationDocument,
  LoginWithPasskeyDocument,
  MeDocument,
  PasskeySignInOptionsDocument,
  RemovePasskeyDocument,
  SetPasskeyUnlockDocument,
} from '../../test-support/operations.generated';
import { PASSKEY_ENV, PASSKEY_ORIGIN, START, WRAPPED_KEYS_VECTOR, addPasskey, loginWith, ok, passkeysOf, type Api } from '../helpers/second-factor';
import { TestSmtpServer } from '../helpers/smtp';
import { SoftwareAuthenticator, type AssertionOptions } from '../helpers/webauthn-authenticator';

/**
 * Passkeys over HTTP (PROTOCOL.md "Second factor" and "Passkey sign-in that
 * unlocks the wallet"), on a real server that verifies real signatures from a
 * software authenticator: registration, the WEBAUTHN second factor, the
 * passkey sign-in with its wrapped keys, single-use challenges that lapse,
 * counters that must advance, changePassword dropping every wrap, removal,
 * the limit of 10, and bad input that stores nothing.
 */

const FIVE_MINUTES = 5 * 60 * 1000;

describe('passkeys over HTTP', () => {
  const clock = new ManualClock(START);
  const smtp = new TestSmtpServer();
  let server: TestServer;

  beforeAll(async () => {
    const smtpUrl = await smtp.start();
    server = await startTestServer({ ...PASSKEY_ENV, SMTP_URL: smtpUrl, MAIL_FROM: 'noreply@example.org', SERVER_NAME: 'Test Sync' }, { clock });
  });
  afterAll(async () => {
    await server?.close();
    await smtp.stop();
  });
  beforeEach(() => clock.advance(1000));
  const mailed = (email: string, subject: string) => smtp.nextMailTo(email, 5000, (mail) => mail.subject === subject);

  async function signedIn(deviceId = 'phone'): Promise<Device> {
    const { email, password } = await register(server);
    return login(server, email, password, deviceId);
  }

  /** A device whose account has one passkey of `authenticator` (wrapped keys when given). */
  async function withPasskey(authenticator = new SoftwareAuthenticator(PASSKEY_ORIGIN), wrappedKeys?: string) {
    const device = await signedIn();
    const passkey = await addPasskey(server, device, authenticator, 'Laptop', wrappedKeys);
    return { device, authenticator, passkey };
  }

  /** The request options a login with the right password gets, with SECOND_FACTOR_REQUIRED. */
  async function secondFactorOptions(device: Device, api: Api = server): Promise<string> {
    const required = await loginWith(api, device);
    expect(errorCode(required)).toBe('SECOND_FACTOR_REQUIRED');
    return required.body.errors![0].extensions!.webauthn as string;
  }

  const signInOptions = async () => ok(await server.gql(PasskeySignInOptionsDocument, {})).passkeySignInOptions;
  const loginWithPasskey = (assertion: unknown, deviceId = 'tablet') =>
    server.gql(LoginWithPasskeyDocument, { input: { assertion: typeof assertion === 'string' ? assertion : JSON.stringify(assertion), deviceId } });

  it('when a passkey is registered, then it is listed, and login needs an assertion after the right password', async () => {
    const device = await signedIn();
    const authenticator = new SoftwareAuthenticator(PASSKEY_ORIGIN);
    const creation = JSON.parse(ok(await server.gql(BeginPasskeyRegistrationDocument, { password: device.password }, device.token)).beginPasskeyRegistration);
    expect(creation).toMatchObject({
      rp: { id: 'wallet.example', name: 'Test Sync' },
      user: { name: device.email },
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      excludeCredentials: [],
      attestation: 'none',
    });
    const response = JSON.stringify(authenticator.create(JSON.stringify(creation)));
    const passkey = ok(await server.gql(FinishPasskeyRegistrationDocument, { input: { response, name: 'Laptop' } }, device.token)).finishPasskeyRegistration;
    expect(passkey).toMatchObject({ name: 'Laptop', lastUsedAt: null, unlock: false });
    expect(await passkeysOf(server, device)).toEqual({ enabled: true, totp: false, recoveryCodesLeft: 0, passkeys: [passkey] });
    await mailed(device.email, 'A passkey was added');

    // The same authenticator is excluded from a second registration.
    const again = JSON.parse(ok(await server.gql(BeginPasskeyRegistrationDocument, { password: device.password }, device.token)).beginPasskeyRegistration);
    expect(again.excludeCredentials).toEqual([{ id: authenticator.credentialIds[0], type: 'public-key', transports: ['internal'] }]);

    const options = await secondFactorOptions(device);
    const required = await loginWith(server, device);
    expect(required.body.errors![0].extensions!.methods).toEqual(['WEBAUTHN']);
    expect(JSON.parse(options)).toMatchObject({ rpId: 'wallet.example', allowCredentials: [{ id: authenticator.credentialIds[0], type: 'public-key' }] });
    const assertion = JSON.stringify(authenticator.get(options));
    expect(ok(await loginWith(server, device, { webauthn: assertion })).login.deviceId).toBe('laptop');
    // The challenge was spent: the same assertion again is refused.
    expect(errorCode(await loginWith(server, device, { webauthn: assertion }))).toBe('SECOND_FACTOR_INVALID');

    const events = ok(await server.gql(AccountActivityDocument, {}, device.token)).accountActivity;
    expect(events.find((e) => e.kind === 'PASSKEY_ADDED')).toMatchObject({ deviceId: 'phone', method: 'WEBAUTHN' });
    expect(events.find((e) => e.kind === 'LOGIN' && e.deviceId === 'laptop')).toMatchObject({ loginMethod: 'PASSWORD_AND_WEBAUTHN' });
    expect((await passkeysOf(server, device)).passkeys[0].lastUsedAt).not.toBeNull();
  });

  it('when a passkey signs in alone, then the device gets a token, the key parameters and the wrapped keys, once per challenge', async () => {
    const { device, authenticator, passkey } = await withPasskey(undefined, WRAPPED_KEYS_VECTOR);
    expect(passkey.unlock).toBe(true);
    const assertion = authenticator.get(await signInOptions());
    const signedIn = ok(await loginWithPasskey(assertion)).loginWithPasskey;
    expect(signedIn).toMatchObject({
      email: device.email,
      keyParams: { algorithm: 'scrypt', clientSaltSeed: expect.stringMatching(/^[0-9a-f]{64}$/) },
      wrappedKeys: WRAPPED_KEYS_VECTOR,
      token: { deviceId: 'tablet' },
    });
    expect(ok(await server.gql(MeDocument, {}, signedIn.token.token)).me.email).toBe(device.email);
    expect(errorCode(await loginWithPasskey(assertion, 'another'))).toBe('SECOND_FACTOR_INVALID');
    const events = ok(await server.gql(AccountActivityDocument, {}, device.token)).accountActivity;
    expect(events.find((e) => e.kind === 'LOGIN' && e.deviceId === 'tablet')).toMatchObject({ loginMethod: 'PASSKEY' });
  });

  it('when two sign-ins race with one assertion, then exactly one gets a token', async () => {
    const { authenticator } = await withPasskey();
    const assertion = authenticator.get(await signInOptions());
    const results = await Promise.all([loginWithPasskey(assertion, 'one'), loginWithPasskey(assertion, 'two'), loginWithPasskey(assertion, 'three')]);
    expect(results.map(errorCode).sort()).toEqual([undefined, 'SECOND_FACTOR_INVALID', 'SECOND_FACTOR_INVALID'].sort());
  });

  it('when a challenge is older than 5 minutes, then its answer is refused', async () => {
    const { device, authenticator } = await withPasskey();
    const options = await secondFactorOptions(device);
    const signIn = await signInOptions();
    clock.advance(FIVE_MINUTES + 1000);
    expect(errorCode(await loginWith(server, device, { webauthn: JSON.stringify(authenticator.get(options)) }))).toBe('SECOND_FACTOR_INVALID');
    expect(errorCode(await loginWithPasskey(authenticator.get(signIn)))).toBe('SECOND_FACTOR_INVALID');
    const begun = ok(await server.gql(BeginPasskeyRegistrationDocument, { password: device.password }, device.token)).beginPasskeyRegistration;
    clock.advance(FIVE_MINUTES + 1000);
    const late = await server.gql(FinishPasskeyRegistrationDocument, { input: { response: JSON.stringify(authenticator.create(begun)), name: 'Late' } }, device.token);
    expect(errorCode(late)).toBe('BAD_USER_INPUT');
    expect((await passkeysOf(server, device)).passkeys).toHaveLength(1);
  });

  it('when an authenticator reports a counter that did not advance, then the assertion is refused (a cloned key)', async () => {
    const { device, authenticator } = await withPasskey();
    expect(ok(await loginWith(server, device, { webauthn: JSON.stringify(authenticator.get(await secondFactorOptions(device))) })).login).toBeDefined();
    // The first assertion reported 1; 1 again, or 0, is a counter that did not move.
    for (const counter of [1, 0]) {
      const stale = authenticator.get(await secondFactorOptions(device), { counter });
      expect(errorCode(await loginWith(server, device, { webauthn: JSON.stringify(stale) }))).toBe('SECOND_FACTOR_INVALID');
    }
    // A passkey that keeps no counter (0 every time) signs in again and again.
    const synced = await withPasskey(new SoftwareAuthenticator(PASSKEY_ORIGIN, false));
    for (let i = 0; i < 2; i += 1) expect(ok(await loginWithPasskey(synced.authenticator.get(await signInOptions()))).loginWithPasskey.email).toBe(synced.device.email);
  });

  it('when the password changes, then every wrap is dropped in the same transaction, and the passkey still signs in', async () => {
    const { device, authenticator, passkey } = await withPasskey(undefined, WRAPPED_KEYS_VECTOR);
    const webauthn = JSON.stringify(authenticator.get(await secondFactorOptions(device)));
    const changed = await server.gql(ChangePasswordDocument, {
      input: { email: device.email, oldPassword: device.password, newPassword: 'a new password', clientSaltSeed: newSeed(), secondFactor: { webauthn } },
    });
    expect(ok(changed).changePassword.__typename).toBe('ChangePasswordSuccess');
    const signedIn = ok(await loginWithPasskey(authenticator.get(await signInOptions()))).loginWithPasskey;
    expect(signedIn.wrappedKeys).toBeNull();
    expect(ok(await server.gql(SetPasskeyUnlockDocument, { id: passkey.id, wrappedKeys: WRAPPED_KEYS_VECTOR }, signedIn.token.token)).setPasskeyUnlock).toMatchObject({
      id: passkey.id,
      unlock: true,
    });
    expect(ok(await server.gql(SetPasskeyUnlockDocument, { id: passkey.id, wrappedKeys: null }, signedIn.token.token)).setPasskeyUnlock.unlock).toBe(false);
  });

  it('when a passkey is removed with the password, then the second factor goes with the last one', async () => {
    const { device, authenticator, passkey } = await withPasskey();
    const phone = await login(server, device.email, device.password, 'phone').catch(() => undefined);
    expect(phone).toBeUndefined(); // the second factor is needed now
    const token = ok(await loginWithPasskey(authenticator.get(await signInOptions()), 'phone')).loginWithPasskey.token.token;
    expect(errorCode(await server.gql(RemovePasskeyDocument, { id: passkey.id, password: 'wrong password' }, token))).toBe('UNAUTHENTICATED');
    expect(ok(await server.gql(RemovePasskeyDocument, { id: '999999', password: device.password }, token)).removePasskey).toBe(false);
    expect(ok(await server.gql(RemovePasskeyDocument, { id: passkey.id, password: device.password }, token)).removePasskey).toBe(true);
    expect(await passkeysOf(server, { ...device, token })).toEqual({ enabled: false, totp: false, recoveryCodesLeft: 0, passkeys: [] });
    await mailed(device.email, 'A passkey was removed');
    expect(ok(await loginWith(server, device)).login.deviceId).toBe('laptop');
    expect(errorCode(await loginWithPasskey(authenticator.get(await signInOptions())))).toBe('SECOND_FACTOR_INVALID');
  });

  it('when an account has 10 passkeys, then an 11th is refused and not stored, even by a registration begun before the 10th', async () => {
    const device = await signedIn();
    const authenticator = new SoftwareAuthenticator(PASSKEY_ORIGIN);
    for (let i = 1; i <= 9; i += 1) await addPasskey(server, device, authenticator, `Key ${i}`);
    const early = ok(await server.gql(BeginPasskeyRegistrationDocument, { password: device.password }, device.token)).beginPasskeyRegistration;
    await addPasskey(server, device, authenticator, 'Key 10');
    expect(errorCode(await server.gql(BeginPasskeyRegistrationDocument, { password: device.password }, device.token))).toBe('BAD_USER_INPUT');
    const late = await server.gql(FinishPasskeyRegistrationDocument, { input: { response: JSON.stringify(authenticator.create(early)), name: 'Key 11' } }, device.token);
    expect(errorCode(late)).toBe('BAD_USER_INPUT');
    expect((await passkeysOf(server, device)).passkeys).toHaveLength(10);
  });

  describe('bad input stores nothing', () => {
    let owner: Awaited<ReturnType<typeof withPasskey>>;
    let other: Awaited<ReturnType<typeof withPasskey>>;
    beforeAll(async () => {
      owner = await withPasskey();
      other = await withPasskey();
    });

    type RegistrationCase = [what: string, code: string, input: () => Promise<{ response: string; name: string; wrappedKeys?: string }>];
    const begin = async () => ok(await server.gql(BeginPasskeyRegistrationDocument, { password: owner.device.password }, owner.device.token)).beginPasskeyRegistration;
    const created = async (options: Parameters<SoftwareAuthenticator['create']>[1] = {}) => JSON.stringify(owner.authenticator.create(await begin(), options));
    it.each<RegistrationCase>([
      ['the response is not JSON', 'BAD_USER_INPUT', async () => ({ response: '{"id": ', name: 'Key' })],
      ['the response is JSON of another shape', 'BAD_USER_INPUT', async () => ({ response: '{"id": 5, "response": []}', name: 'Key' })],
      ['the response is a JSON array', 'BAD_USER_INPUT', async () => ({ response: '[]', name: 'Key' })],
      ['the clientDataJSON is not base64url JSON', 'BAD_USER_INPUT', async () => ({ response: JSON.stringify({ ...JSON.parse(await created()), response: { clientDataJSON: 'bm90IGpzb24', attestationObject: 'AA' } }), name: 'Key' })],
      ['the attestation object is not CBOR', 'BAD_USER_INPUT', async () => {
        const response = JSON.parse(await created());
        return { response: JSON.stringify({ ...response, response: { ...response.response, attestationObject: 'b3Bhc3NrZXk' } }), name: 'Key' };
      }],
      ['the JSON is over 64 KiB', 'BAD_USER_INPUT', async () => ({ response: JSON.stringify({ ...JSON.parse(await created()), padding: 'x'.repeat(70_000) }), name: 'Key' })],
      ['the name is longer than 64 characters', 'BAD_USER_INPUT', async () => ({ response: await created(), name: 'k'.repeat(65) })],
      ['the name is empty', 'BAD_USER_INPUT', async () => ({ response: await created(), name: '' })],
      ['the name has a control character', 'BAD_USER_INPUT', async () => ({ response: await created(), name: 'Key\u0007' })],
      ['wrappedKeys is not base64', 'BAD_USER_INPUT', async () => ({ response: await created(), name: 'Key', wrappedKeys: `${'*'.repeat(123)}=` })],
      ['wrappedKeys has the wrong length', 'BAD_USER_INPUT', async () => ({ response: await created(), name: 'Key', wrappedKeys: WRAPPED_KEYS_VECTOR.slice(4) })],
      ['it answers a sign-in challenge (another purpose)', 'BAD_USER_INPUT', async () => ({ response: JSON.stringify(owner.authenticator.create((await begin()).replace(/"challenge":"[^"]+"/, `"challenge":"${JSON.parse(await signInOptions()).challenge}"`))), name: 'Key' })],
      ['it answers another account\'s registration challenge', 'BAD_USER_INPUT', async () => ({ response: JSON.stringify(owner.authenticator.create(ok(await server.gql(BeginPasskeyRegistrationDocument, { password: other.device.password }, other.device.token)).beginPasskeyRegistration)), name: 'Key' })],
      ['it comes from an origin that is not listed', 'BAD_USER_INPUT', async () => ({ response: await created({ origin: 'https://evil.example' }), name: 'Key' })],
      ['the user was not verified', 'BAD_USER_INPUT', async () => ({ response: await created({ userVerified: false }), name: 'Key' })],
      ['it is an assertion, not a registration', 'BAD_USER_INPUT', async () => ({ response: await created({ type: 'webauthn.get' }), name: 'Key' })],
    ])('when finishPasskeyRegistration gets a response where %s, then it answers %s and stores nothing', async (_what, code, input) => {
      const response = await server.gql(FinishPasskeyRegistrationDocument, { input: await input() }, owner.device.token);
      expect(errorCode(response)).toBe(code);
      expect(response.status).toBeLessThan(500);
      expect((await passkeysOf(server, owner.device)).passkeys).toHaveLength(1);
    });

    type AssertionCase = [what: string, code: string, assertion: () => Promise<string>];
    /** An authenticator holding a passkey for this relying party that was never registered with the server. */
    const unknownPasskey = () => {
      const authenticator = new SoftwareAuthenticator(PASSKEY_ORIGIN);
      authenticator.create(JSON.stringify({ challenge: 'AAAA', rp: { id: 'wallet.example' }, user: { id: 'AAAA' } }));
      return authenticator;
    };
    const answered = async (options: AssertionOptions = {}) => JSON.stringify(owner.authenticator.get(await secondFactorOptions(owner.device), options));
    it.each<AssertionCase>([
      ['is not JSON', 'BAD_USER_INPUT', async () => 'not json'],
      ['lacks its signature', 'BAD_USER_INPUT', async () => JSON.stringify({ ...JSON.parse(await answered()), response: { clientDataJSON: 'AA', authenticatorData: 'AA' } })],
      ["answers another account's challenge", 'SECOND_FACTOR_INVALID', async () => JSON.stringify(owner.authenticator.get(await secondFactorOptions(other.device), { credentialId: owner.authenticator.credentialIds[0] }))],
      ["is another account's passkey", 'SECOND_FACTOR_INVALID', async () => JSON.stringify(other.authenticator.get(await secondFactorOptions(owner.device), { credentialId: other.authenticator.credentialIds[0] }))],
      ['answers a sign-in challenge (another purpose)', 'SECOND_FACTOR_INVALID', async () => JSON.stringify(owner.authenticator.get(await signInOptions()))],
      ['comes from an origin that is not listed', 'SECOND_FACTOR_INVALID', async () => answered({ origin: 'https://evil.example' })],
      ['has a signature that does not verify', 'SECOND_FACTOR_INVALID', async () => JSON.stringify({ ...JSON.parse(await answered()), response: { ...JSON.parse(await answered()).response, signature: 'MEUCIQ' } })],
      ['has authenticator data that is not authenticator data', 'SECOND_FACTOR_INVALID', async () => {
        const assertion = JSON.parse(await answered());
        return JSON.stringify({ ...assertion, response: { ...assertion.response, authenticatorData: 'AAAA' } });
      }],
      ['answers a challenge the server never issued', 'SECOND_FACTOR_INVALID', async () => answered({ challenge: 'bm90LWlzc3VlZC1ieS10aGUtc2VydmVy' })],
    ])('when a login second factor assertion %s, then it answers %s', async (_what, code, assertion) => {
      const response = await loginWith(server, owner.device, { webauthn: await assertion() });
      expect(errorCode(response)).toBe(code);
      expect(response.status).toBeLessThan(500);
    });

    it.each<AssertionCase>([
      ['is not JSON', 'BAD_USER_INPUT', async () => '{'],
      ['has a type other than public-key', 'BAD_USER_INPUT', async () => JSON.stringify({ ...owner.authenticator.get(await signInOptions()), type: 'password' })],
      ['answers a second-factor challenge (another purpose)', 'SECOND_FACTOR_INVALID', async () => JSON.stringify(owner.authenticator.get(await secondFactorOptions(owner.device)))],
      ['is a credential the server does not know', 'SECOND_FACTOR_INVALID', async () => JSON.stringify(unknownPasskey().get(await signInOptions()))],
      ['lacks user verification', 'SECOND_FACTOR_INVALID', async () => JSON.stringify(owner.authenticator.get(await signInOptions(), { userVerified: false }))],
      ["carries another account's user handle", 'SECOND_FACTOR_INVALID', async () => JSON.stringify({ ...owner.authenticator.get(await signInOptions()), response: { ...owner.authenticator.get(await signInOptions()).response, userHandle: 'AAAA' } })],
    ])('when a passkey sign-in assertion %s, then it answers %s', async (_what, code, assertion) => {
      const response = await loginWithPasskey(await assertion());
      expect(errorCode(response)).toBe(code);
      expect(response.status).toBeLessThan(500);
    });

    it.each([
      ['an id that is not a passkey id', 'abc', WRAPPED_KEYS_VECTOR],
      ["another account's passkey", 'other', WRAPPED_KEYS_VECTOR],
      ['wrappedKeys of the wrong length', 'own', 'AAAA'],
      ['wrappedKeys that are not base64', 'own', `${'!'.repeat(123)}=`],
    ])('when setPasskeyUnlock gets %s, then it answers BAD_USER_INPUT and changes nothing', async (_what, which, wrappedKeys) => {
      const id = which === 'own' ? owner.passkey.id : which === 'other' ? other.passkey.id : which;
      const response = await server.gql(SetPasskeyUnlockDocument, { id, wrappedKeys }, owner.device.token);
      expect(errorCode(response)).toBe('BAD_USER_INPUT');
      expect((await passkeysOf(server, owner.device)).passkeys[0].unlock).toBe(false);
      expect((await passkeysOf(server, other.device)).passkeys[0].unlock).toBe(false);
    });
  });
});

/**
 * Two instances on one database server, as behind a load balancer: a
 * ceremony begun on one is finished on the other, because challenges live in
 * the database, and a replay through the other instance still loses.
 */
describeWith([databaseServerRequirement()], `passkeys across two instances on ${testDialect()}`, () => {
  let database: TestDatabase;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    database = await createTestDatabase();
    a = await startTestServer({ ...PASSKEY_ENV, DATABASE_URL: database.url });
    b = await startTestServer({ ...PASSKEY_ENV, DATABASE_URL: database.url });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await database?.drop();
  });

  it('when a ceremony begins on A and ends on B, then B finds its challenge, and a sign-in that A accepted loses when replayed through B', async () => {
    const { email, password } = await register(a);
    const phone = await login(a, email, password, 'phone');
    const authenticator = new SoftwareAuthenticator(PASSKEY_ORIGIN);
    const options = ok(await a.gql(BeginPasskeyRegistrationDocument, { password }, phone.token)).beginPasskeyRegistration;
    const response = JSON.stringify(authenticator.create(options));
    expect(ok(await b.gql(FinishPasskeyRegistrationDocument, { input: { response, name: 'Key' } }, phone.token)).finishPasskeyRegistration.name).toBe('Key');

    const signIn = ok(await b.gql(PasskeySignInOptionsDocument, {})).passkeySignInOptions;
    const assertion = JSON.stringify(authenticator.get(signIn));
    expect(ok(await a.gql(LoginWithPasskeyDocument, { input: { assertion, deviceId: 'tablet' } })).loginWithPasskey.email).toBe(email);
    expect(errorCode(await b.gql(LoginWithPasskeyDocument, { input: { assertion, deviceId: 'tablet' } }))).toBe('SECOND_FACTOR_INVALID');
  });
});
