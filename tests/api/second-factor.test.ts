import { totpCode } from '../../src/lib/totp';
import { errorCode, type Operation } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { ManualClock } from '../helpers/clock';
import { useTestServer } from '../helpers/hooks';
import { login, newSeed, register } from '../../test-support/operations';
import {
  AccountActivityDocument,
  BeginTotpDocument,
  ChangePasswordDocument,
  ConfirmTotpDocument,
  DeleteAccountDocument,
  DisableTotpDocument,
  LoginDocument,
  RegenerateRecoveryCodesDocument,
} from '../../test-support/operations.generated';
import { BUDGET_ENV, START, STEP_MS, loginWith, ok, spendBudget, status, withTotp, wrongCode, type SecondFactor } from '../helpers/second-factor';
import { TestSmtpServer } from '../helpers/smtp';

/**
 * The second factor over HTTP (PROTOCOL.md "Second factor"), on a real server
 * whose clock the test moves: TOTP enrolment and its lapse, drift of one step
 * and no more, no replay of a used step, single-use recovery codes and their
 * exhaustion, the factor on login, changePassword and deleteAccount, the
 * security log and the owner's mail; then the race of two logins with one code,
 * and the per-account budget of failed factors (across two instances via Redis:
 * tests/redis/second-factor-budget.test.ts).
 */

describe('the second factor over HTTP', () => {
  const clock = new ManualClock(START);
  const smtp = new TestSmtpServer();
  let server: TestServer;

  beforeAll(async () => {
    const smtpUrl = await smtp.start();
    server = await startTestServer({ SMTP_URL: smtpUrl, MAIL_FROM: 'noreply@example.org', SERVER_NAME: 'Test Sync' }, { clock });
  });
  afterAll(async () => {
    await server?.close();
    await smtp.stop();
  });
  beforeEach(() => clock.advance(10 * STEP_MS));
  /** The owner's mail with this subject (new-device notices come too). */
  const mailed = (email: string, subject: string) => smtp.nextMailTo(email, 5000, (mail) => mail.subject === subject);

  it('when TOTP is enrolled, then login needs a code after the right password, and the codes and events follow the protocol', async () => {
    const { email, password } = await register(server);
    const phone = await login(server, email, password, 'phone');
    expect(await status(server, phone)).toEqual({ enabled: false, totp: false, recoveryCodesLeft: 0 });

    const { secret, uri } = ok(await server.gql(BeginTotpDocument, { password }, phone.token)).beginTotp;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const parsed = new URL(uri);
    expect(decodeURIComponent(parsed.pathname)).toBe(`/Test Sync:${email}`);
    expect(Object.fromEntries(parsed.searchParams)).toEqual({ secret, issuer: 'Test Sync', algorithm: 'SHA1', digits: '6', period: '30' });
    // Nothing is enabled before the confirmation.
    expect(ok(await loginWith(server, phone)).login.deviceId).toBe('laptop');
    expect(errorCode(await server.gql(ConfirmTotpDocument, { code: totpCode(secret, new Date(clock.now().getTime() + 3 * STEP_MS)) }, phone.token))).toBe(
      'SECOND_FACTOR_INVALID',
    );
    const confirmedWith = totpCode(secret, clock.now());
    const { codes } = ok(await server.gql(ConfirmTotpDocument, { code: confirmedWith }, phone.token)).confirmTotp;
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(await status(server, phone)).toEqual({ enabled: true, totp: true, recoveryCodesLeft: 10 });
    await mailed(email, 'Two-step sign-in turned on');

    // A wrong password still answers as before: SECOND_FACTOR_REQUIRED comes only after the right one.
    expect(errorCode(await server.gql(LoginDocument, { input: { email, password: 'wrong password', deviceId: 'laptop' } }))).toBe('UNAUTHENTICATED');
    const required = await loginWith(server, phone);
    expect(errorCode(required)).toBe('SECOND_FACTOR_REQUIRED');
    expect(required.body.errors![0].extensions!.methods).toEqual(['TOTP', 'RECOVERY_CODE']);
    expect(required.body.data).toBeNull();

    // The confirming code's step is used; so is any step once a login used it.
    expect(errorCode(await loginWith(server, phone, { totp: confirmedWith }))).toBe('SECOND_FACTOR_INVALID');
    clock.advance(STEP_MS);
    const now = totpCode(secret, clock.now());
    expect(ok(await loginWith(server, phone, { totp: now })).login.deviceId).toBe('laptop');
    expect(errorCode(await loginWith(server, phone, { totp: now }))).toBe('SECOND_FACTOR_INVALID');
    // One step of drift either way, no more; a later step, once used, closes the earlier ones.
    clock.advance(4 * STEP_MS);
    const at = (steps: number) => totpCode(secret, new Date(clock.now().getTime() + steps * STEP_MS));
    expect(errorCode(await loginWith(server, phone, { totp: at(-2) }))).toBe('SECOND_FACTOR_INVALID');
    expect(errorCode(await loginWith(server, phone, { totp: at(2) }))).toBe('SECOND_FACTOR_INVALID');
    expect(ok(await loginWith(server, phone, { totp: at(-1) })).login.deviceId).toBe('laptop');
    expect(ok(await loginWith(server, phone, { totp: at(1) })).login.deviceId).toBe('laptop');
    expect(errorCode(await loginWith(server, phone, { totp: at(0) }))).toBe('SECOND_FACTOR_INVALID');

    // A recovery code: any case, with or without its hyphen, once.
    const recovery = codes[0].replace('-', '').toLowerCase();
    const withCode = ok(await loginWith(server, phone, { recoveryCode: recovery }, 'tablet')).login;
    expect(withCode.deviceId).toBe('tablet');
    expect(errorCode(await loginWith(server, phone, { recoveryCode: codes[0] }))).toBe('SECOND_FACTOR_INVALID');
    expect(await status(server, phone)).toEqual({ enabled: true, totp: true, recoveryCodesLeft: 9 });
    await mailed(email, 'A recovery code was used');

    const events = ok(await server.gql(AccountActivityDocument, { limit: 20 }, withCode.token)).accountActivity;
    const summary = events.map((e) => [e.kind, e.loginMethod ?? e.method ?? null]);
    expect(summary.slice(0, 5)).toEqual([
      ['SECOND_FACTOR_FAILED', 'RECOVERY_CODE'],
      ['LOGIN', 'PASSWORD_AND_RECOVERY_CODE'],
      ['RECOVERY_CODE_USED', 'RECOVERY_CODE'],
      ['SECOND_FACTOR_FAILED', 'TOTP'],
      ['LOGIN', 'PASSWORD_AND_TOTP'],
    ]);
    expect(summary).toContainEqual(['SECOND_FACTOR_ENABLED', 'TOTP']);
    expect(summary).toContainEqual(['LOGIN', 'PASSWORD']);
    expect(summary.filter(([kind]) => kind === 'SECOND_FACTOR_FAILED')).toHaveLength(6);
  });

  it('when confirmTotp comes without a beginTotp, or after the enrolment lapsed, then it is a clear BAD_USER_INPUT and nothing is enabled', async () => {
    const { email, password } = await register(server);
    const phone = await login(server, email, password, 'phone');
    const never = await server.gql(ConfirmTotpDocument, { code: '123456' }, phone.token);
    expect(errorCode(never)).toBe('BAD_USER_INPUT');
    expect(never.body.errors![0].message).toMatch(/no TOTP enrolment is pending.*beginTotp/);

    const { secret } = ok(await server.gql(BeginTotpDocument, { password }, phone.token)).beginTotp;
    clock.advance(10 * 60 * 1000 + 1);
    const lapsed = await server.gql(ConfirmTotpDocument, { code: totpCode(secret, clock.now()) }, phone.token);
    expect(errorCode(lapsed)).toBe('BAD_USER_INPUT');
    expect(await status(server, phone)).toEqual({ enabled: false, totp: false, recoveryCodesLeft: 0 });
    expect(ok(await loginWith(server, phone)).login.deviceId).toBe('laptop');
  });

  it('when every recovery code is used, then they are refused, login lists TOTP alone, and regenerated codes replace the old ones', async () => {
    const { device, secret, codes } = await withTotp(server, clock);
    for (const code of codes) expect(ok(await loginWith(server, device, { recoveryCode: code })).login.deviceId).toBe('laptop');
    expect(errorCode(await loginWith(server, device, { recoveryCode: codes[9] }))).toBe('SECOND_FACTOR_INVALID');
    const required = await loginWith(server, device);
    expect(required.body.errors![0].extensions!.methods).toEqual(['TOTP']);
    clock.advance(STEP_MS);
    const phone = ok(await loginWith(server, device, { totp: totpCode(secret, clock.now()) }, 'phone')).login;
    expect(await status(server, { ...device, token: phone.token })).toEqual({ enabled: true, totp: true, recoveryCodesLeft: 0 });

    expect(errorCode(await server.gql(RegenerateRecoveryCodesDocument, { password: 'wrong password' }, phone.token))).toBe('UNAUTHENTICATED');
    const fresh = ok(await server.gql(RegenerateRecoveryCodesDocument, { password: device.password }, phone.token)).regenerateRecoveryCodes.codes;
    expect(fresh).toHaveLength(10);
    const again = ok(await server.gql(RegenerateRecoveryCodesDocument, { password: device.password }, phone.token)).regenerateRecoveryCodes.codes;
    expect(errorCode(await loginWith(server, device, { recoveryCode: fresh[0] }))).toBe('SECOND_FACTOR_INVALID');
    expect(ok(await loginWith(server, device, { recoveryCode: again[0] })).login.deviceId).toBe('laptop');
  });

  it('when TOTP is disabled, then it needs the password, the recovery codes go, and the password alone signs in again', async () => {
    const { device, codes } = await withTotp(server, clock);
    expect(errorCode(await server.gql(DisableTotpDocument, { password: 'wrong password' }, device.token))).toBe('UNAUTHENTICATED');
    expect(ok(await server.gql(DisableTotpDocument, { password: device.password }, device.token)).disableTotp).toBe(true);
    expect(ok(await server.gql(DisableTotpDocument, { password: device.password }, device.token)).disableTotp).toBe(false);
    expect(await status(server, device)).toEqual({ enabled: false, totp: false, recoveryCodesLeft: 0 });
    // A factor sent to an account without one is ignored, as a verification code is once verified.
    expect(ok(await loginWith(server, device, { recoveryCode: codes[0] })).login.deviceId).toBe('laptop');
    expect((await mailed(device.email, 'Two-step sign-in turned off')).text).toContain('Network: 127.0.0.0/24');
  });

  it('when an account has TOTP, then changePassword and deleteAccount need the factor too', async () => {
    const { device, secret, codes } = await withTotp(server, clock);
    const change = (secondFactor?: SecondFactor) =>
      server.gql(ChangePasswordDocument, {
        input: { email: device.email, oldPassword: device.password, newPassword: 'a new password', clientSaltSeed: newSeed(), ...(secondFactor ? { secondFactor } : {}) },
      });
    expect(errorCode(await change())).toBe('SECOND_FACTOR_REQUIRED');
    expect(errorCode(await change({ totp: wrongCode(secret, clock) }))).toBe('SECOND_FACTOR_INVALID');
    clock.advance(STEP_MS);
    expect(ok(await change({ totp: totpCode(secret, clock.now()) })).changePassword.__typename).toBe('ChangePasswordSuccess');

    const changed = { ...device, password: 'a new password' };
    const phone = ok(await loginWith(server, changed, { recoveryCode: codes[1] }, 'phone')).login;
    expect(errorCode(await server.gql(DeleteAccountDocument, { password: changed.password }, phone.token))).toBe('SECOND_FACTOR_REQUIRED');
    expect(ok(await server.gql(DeleteAccountDocument, { password: changed.password, secondFactor: { recoveryCode: codes[2] } }, phone.token)).deleteAccount).toBe(
      true,
    );
  });

  it.each<[string, Record<string, unknown>]>([
    ['both a TOTP code and a recovery code', { totp: '123456', recoveryCode: 'ABCDE-FGHJK' }],
    ['no field at all', {}],
    ['a TOTP code of 5 digits', { totp: '12345' }],
    ['a TOTP code of 7 digits', { totp: '1234567' }],
    ['a TOTP code with a space', { totp: '123 456' }],
    ['a TOTP code with letters', { totp: '12a456' }],
    ['a recovery code of 9 characters', { recoveryCode: 'ABCDE-FGHJ' }],
    ['a recovery code outside the alphabet (U)', { recoveryCode: 'ABCDE-FGHJU' }],
    ['a recovery code with a space', { recoveryCode: 'ABCDE FGHJK' }],
  ])('when secondFactor has %s, then login answers BAD_USER_INPUT naming secondFactor, never a 500', async (_name, secondFactor) => {
    const { device } = await withTotp(server, clock);
    const response = await server.gql(LoginDocument, { input: { email: device.email, password: device.password, deviceId: 'laptop', secondFactor } });
    expect(response.status).toBe(200);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(response.body.errors![0].message).toMatch(/secondFactor/);
  });

  it.each([
    ['5 digits', '12345'],
    ['a space', '123 456'],
  ])('when confirmTotp gets a code of %s, then it is BAD_USER_INPUT', async (_name, code) => {
    const { email, password } = await register(server);
    const phone = await login(server, email, password, 'phone');
    await server.gql(BeginTotpDocument, { password }, phone.token);
    expect(errorCode(await server.gql(ConfirmTotpDocument, { code }, phone.token))).toBe('BAD_USER_INPUT');
  });

  it('when a stolen token without the password tries to enrol, disable or regenerate, then each is UNAUTHENTICATED', async () => {
    const { device } = await withTotp(server, clock);
    for (const operation of [BeginTotpDocument, DisableTotpDocument, RegenerateRecoveryCodesDocument] as Array<Operation<unknown, { password: string }>>) {
      expect(errorCode(await server.gql(operation, { password: 'not the password' }, device.token))).toBe('UNAUTHENTICATED');
    }
    expect(await status(server, device)).toEqual({ enabled: true, totp: true, recoveryCodesLeft: 10 });
  });
});

describe('two logins with the same TOTP code at once', () => {
  const clock = new ManualClock(START);
  const server = useTestServer({}, { clock });

  it('when they race, round after round, then exactly one gets a token and the other SECOND_FACTOR_INVALID', async () => {
    const { device, secret } = await withTotp(server, clock);
    for (let round = 0; round < 6; round += 1) {
      clock.advance(STEP_MS);
      const code = totpCode(secret, clock.now());
      const answers = await Promise.all(['a', 'b'].map((tag) => loginWith(server, device, { totp: code }, `racer-${tag}`)));
      expect(answers.map(errorCode).sort()).toEqual(['SECOND_FACTOR_INVALID', undefined]);
    }
  });

  it('when two logins race with the same recovery code, then exactly one gets in', async () => {
    const { device, codes } = await withTotp(server, clock);
    for (const code of codes.slice(0, 4)) {
      const answers = await Promise.all(['a', 'b', 'c'].map((tag) => loginWith(server, device, { recoveryCode: code }, `racer-${tag}`)));
      expect(answers.filter((a) => errorCode(a) === undefined)).toHaveLength(1);
      expect(answers.filter((a) => errorCode(a) === 'SECOND_FACTOR_INVALID')).toHaveLength(2);
    }
  });
});

describe('the budget of failed second factors', () => {
  const clock = new ManualClock(START);
  const server = useTestServer(BUDGET_ENV, { clock });

  it('when ten factors failed, then the next attempt is RATE_LIMITED, even with the right code, and the right password alone changes nothing', async () => {
    const { device, secret } = await withTotp(server, clock);
    await spendBudget([server], device, wrongCode(secret, clock));
    clock.advance(STEP_MS);
    const limited = await loginWith(server, device, { totp: totpCode(secret, clock.now()) });
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    expect(limited.body.errors![0].extensions!.retryAfterSeconds).toBeGreaterThan(0);
    // The password was right all along: it is not counted as a failed password.
    expect(errorCode(await loginWith(server, device))).toBe('SECOND_FACTOR_REQUIRED');
  });

  it('when a right factor comes before the budget is spent, then the count starts again', async () => {
    const { device, secret } = await withTotp(server, clock);
    const wrong = wrongCode(secret, clock);
    for (let i = 0; i < 9; i += 1) expect(errorCode(await loginWith(server, device, { totp: wrong }))).toBe('SECOND_FACTOR_INVALID');
    clock.advance(STEP_MS);
    expect(ok(await loginWith(server, device, { totp: totpCode(secret, clock.now()) })).login.deviceId).toBe('laptop');
    await spendBudget([server], device, wrongCode(secret, clock));
    expect(errorCode(await loginWith(server, device, { totp: wrong }))).toBe('RATE_LIMITED');
  });

  it('when enrolling with a wrong password, then it counts as a failed password: ten lock the account out of login', async () => {
    const { email, password } = await register(server);
    const phone = await login(server, email, password, 'phone');
    for (let i = 0; i < 10; i += 1) expect(errorCode(await server.gql(BeginTotpDocument, { password: `wrong ${i}` }, phone.token))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(LoginDocument, { input: { email, password, deviceId: 'laptop' } }))).toBe('RATE_LIMITED');
  });
});
