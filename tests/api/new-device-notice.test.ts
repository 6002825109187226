import { startTestServer, type TestServer } from '../helpers/app';
import { ManualClock } from '../helpers/clock';
import { PASSWORD, login, newSeed, register, uniqueEmail } from '../../test-support/operations';
import { AccountActivityDocument, LoginDocument, LogoutDocument, RegisterDocument } from '../../test-support/operations.generated';
import { TestSmtpServer, isCodeMail, verificationCode as readCode } from '../helpers/smtp';

describe('new-device login notices, over real SMTP', () => {
  const smtp = new TestSmtpServer();
  const clock = new ManualClock(new Date('2026-11-20T08:30:00.000Z'));
  let server: TestServer;

  beforeAll(async () => {
    const smtpUrl = await smtp.start();
    server = await startTestServer({ SMTP_URL: smtpUrl, MAIL_FROM: 'Wallet Sync <noreply@wallet.example.org>' }, { clock });
  });
  afterAll(async () => {
    await server.close();
    await smtp.stop();
  });

  it('when a device logs in to the account for the first time, then the owner is mailed the device, the time and the network prefix', async () => {
    const { email, password } = await register(server);
    await login(server, email, password, 'Kitchen tablet');
    const mail = await smtp.nextMailTo(email);
    expect(mail.subject).toMatch(/new device/i);
    for (const part of [mail.text!, mail.html as string]) {
      expect(part).toContain('Kitchen tablet');
      expect(part).toContain('2026-11-20T08:30:00.000Z');
      expect(part).toContain('127.0.0.0/24');
      expect(part).not.toContain('127.0.0.1');
    }
  });

  it('when a known device logs in again (even after logging out), then no mail is sent; another new device is mailed', async () => {
    const { email, password } = await register(server);
    await login(server, email, password, 'phone');
    expect((await smtp.nextMailTo(email)).text).toContain('phone');
    const phoneAgain = await login(server, email, password, 'phone');
    expect((await server.gql(LogoutDocument, {}, phoneAgain.token)).body.data!.logout).toBe(true);
    await login(server, email, password, 'phone');
    // Notices go out in the background, after the answer: a later new device's notice is the
    // marker that any notice of the earlier logins would have had its turn.
    await login(server, email, password, 'laptop');
    expect((await smtp.nextMailTo(email)).text).toContain('laptop');
    expect(smtp.mailsTo(email)).toEqual([]);
  });

  it('when device ids differ only in letter case, then they are different devices (each is new)', async () => {
    const { email, password } = await register(server);
    await login(server, email, password, 'Phone');
    expect((await smtp.nextMailTo(email)).text).toContain('Phone');
    const other = await login(server, email, password, 'phone');
    expect((await smtp.nextMailTo(email)).text).toContain('Device: phone');
    const events = (await server.gql(AccountActivityDocument, {}, other.token)).body.data!.accountActivity;
    expect(events.filter((e) => e.kind === 'LOGIN').map((e) => e.newDevice)).toEqual([true, true]);
  });

  it('when the same new device logs in twice at once, then exactly one notice goes out', async () => {
    const { email, password } = await register(server);
    await Promise.all([login(server, email, password, 'twin'), login(server, email, password, 'twin')]);
    await login(server, email, password, 'marker');
    expect((await smtp.nextMailTo(email)).text).toContain('twin');
    expect((await smtp.nextMailTo(email)).text).toContain('marker');
    expect(smtp.mailsTo(email)).toEqual([]);
  });
});

describe('the security log in EmailVerify mode', () => {
  const smtp = new TestSmtpServer();
  let server: TestServer;

  beforeAll(async () => {
    const smtpUrl = await smtp.start();
    server = await startTestServer({
      ACCOUNT_VERIFICATION_MODE: 'EmailVerify',
      SMTP_URL: smtpUrl,
      MAIL_FROM: 'noreply@wallet.example.org',
      PUBLIC_URL: 'https://wallet.example.org',
    });
  });
  afterAll(async () => {
    await server.close();
    await smtp.stop();
  });

  it('when an account registers and its first login carries the code, then REGISTERED and VERIFIED precede that login', async () => {
    const email = uniqueEmail();
    const registered = await server.gql(RegisterDocument, { input: { email, password: PASSWORD, clientSaltSeed: newSeed() } });
    expect(registered.body.data!.register.verified).toBe(false);
    const verificationCode = readCode(await smtp.nextMailTo(email, 5000, isCodeMail));
    const first = await server.gql(LoginDocument, { input: { email, password: PASSWORD, deviceId: 'first', verificationCode } });
    const device = { token: first.body.data!.login.token as string };
    const events = (await server.gql(AccountActivityDocument, {}, device.token)).body.data!.accountActivity;
    expect(events.map((e: { kind: string }) => e.kind)).toEqual(['LOGIN', 'VERIFIED', 'REGISTERED']);
  });
});
