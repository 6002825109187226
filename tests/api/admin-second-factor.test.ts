import { totpCode } from '../../src/lib/totp';
import { admin } from '../helpers/admin';
import { errorCode } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { testDialect } from '../../test-support/database';
import { login, register, registerAndLogin } from '../../test-support/operations';
import { AccountActivityDocument, BeginTotpDocument, ConfirmTotpDocument, LoginDocument, SecondFactorStatusDocument } from '../../test-support/operations.generated';
import { TestSmtpServer } from '../helpers/smtp';

/** wallet-sync-admin 2fa disable, for an owner who lost every factor: against a real server's database, mailing through a real SMTP server. */
describe(`wallet-sync-admin 2fa disable on ${testDialect()}`, () => {
  const smtp = new TestSmtpServer();
  let server: TestServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    const smtpUrl = await smtp.start();
    const mail = { SMTP_URL: smtpUrl, MAIL_FROM: 'noreply@example.org' };
    server = await startTestServer(mail);
    env = { DATABASE_URL: server.database.url, ...mail };
  });
  afterAll(async () => {
    await server?.close();
    await smtp.stop();
  });

  async function withTotp() {
    const { email, password } = await register(server);
    const phone = await login(server, email, password, 'phone');
    const { secret } = (await server.gql(BeginTotpDocument, { password }, phone.token)).body.data!.beginTotp;
    await server.gql(ConfirmTotpDocument, { code: totpCode(secret, new Date()) }, phone.token);
    expect(errorCode(await server.gql(LoginDocument, { input: { email, password, deviceId: 'laptop' } }))).toBe('SECOND_FACTOR_REQUIRED');
    return { email, password, phone };
  }

  it('when run with --yes, then the second factor is off, the password alone signs in, and it is in the security log, on stderr and in the owner\'s mail', async () => {
    const { email, password, phone } = await withTotp();
    const run = await admin(env, '2fa', 'disable', email.toUpperCase(), '--yes', '--json');
    expect(run.code).toBe(0);
    expect(run.json.secondFactorDisabled.email).toBe(email);
    expect(run.stderr).toContain('second factor turned off by the operator');
    expect((await server.gql(SecondFactorStatusDocument, {}, phone.token)).body.data!.me.secondFactor).toEqual({ enabled: false, totp: false, recoveryCodesLeft: 0 });
    expect((await server.gql(LoginDocument, { input: { email, password, deviceId: 'laptop' } })).body.data!.login.deviceId).toBe('laptop');
    const events = (await server.gql(AccountActivityDocument, {}, phone.token)).body.data!.accountActivity;
    expect(events).toContainEqual(expect.objectContaining({ kind: 'SECOND_FACTOR_DISABLED', method: 'TOTP', ipPrefix: null }));
    const mail = await smtp.nextMailTo(email, 5000, (m) => m.subject === 'Two-step sign-in turned off by the server operator');
    expect(mail.text).toContain('signing in needs only the password now');
  });

  it.each([
    ['without --yes and no terminal', 4, 'NOT_CONFIRMED', (email: string) => ['2fa', 'disable', email]],
    ['for an unknown email', 3, 'NOT_FOUND', () => ['2fa', 'disable', 'nobody@example.com', '--yes']],
    ['without an email', 2, 'USAGE', () => ['2fa', 'disable']],
  ])('when run %s, then it exits %i (%s) and the second factor stays', async (_what, exitCode, code, argv) => {
    const { email, phone } = await withTotp();
    const run = await admin(env, ...argv(email), '--json');
    expect(run.code).toBe(exitCode);
    expect(run.json.error.code).toBe(code);
    expect((await server.gql(SecondFactorStatusDocument, {}, phone.token)).body.data!.me.secondFactor.enabled).toBe(true);
  });

  it('when the account has no second factor, then it exits 3 saying so', async () => {
    const device = await registerAndLogin(server);
    const run = await admin(env, '2fa', 'disable', device.email, '--yes');
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('has no second factor');
  });
});
