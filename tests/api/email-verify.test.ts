import { randomBytes } from 'node:crypto';
import { errorCode, postGraphQL, randomIp, type Operation } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { ManualClock } from '../helpers/clock';
import { queryRows, testDialect } from '../../test-support/database';
import { PASSWORD, login, newSeed, uniqueEmail, upload } from '../../test-support/operations';
import { ChangePasswordDocument, LoginDocument, MeDocument, RegisterDocument, SeedDocument, WalletStateDocument } from '../../test-support/operations.generated';
import { TestSmtpServer, codeMailTo, isCodeMail, verificationCode } from '../helpers/smtp';

/**
 * PROTOCOL.md, "Account verification modes", EmailVerify: a registration is
 * pending, not an account; the mail carries a code; the first login carries it
 * and succeeds only with that registration's password; then the other pending
 * registrations of the email go. Everything over real SMTP and real HTTP.
 */
const PUBLIC_URL = 'https://wallet.example.org';
const HOUR = 60 * 60 * 1000;
const RESEND = 'mutation($e: String!) { resendVerificationEmail(email: $e) }';
const MAIL_ENV = (smtpUrl: string) => ({ ACCOUNT_VERIFICATION_MODE: 'EmailVerify', SMTP_URL: smtpUrl, MAIL_FROM: 'Wallet Sync <noreply@wallet.example.org>', PUBLIC_URL });

describe(`EmailVerify mode, over real SMTP (${testDialect()})`, () => {
  const smtp = new TestSmtpServer();
  const clock = new ManualClock();
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(MAIL_ENV(await smtp.start()), { clock });
  });
  afterAll(async () => {
    await server.close();
    await smtp.stop();
  });

  const mailed = (email: string) => codeMailTo(smtp, server.app, email);
  const registerPending = async (email = uniqueEmail(), password = PASSWORD, clientSaltSeed = newSeed()) => {
    const response = await server.gql(RegisterDocument, { input: { email, password, clientSaltSeed } });
    expect(response.body).toEqual({ data: { register: { verified: false } } });
    return { email, password, clientSaltSeed, code: verificationCode(await mailed(email)) };
  };
  const loginWith = (email: string, password: string, verificationCode?: string, deviceId = 'd') =>
    server.gql(LoginDocument, { input: { email, password, deviceId, ...(verificationCode === undefined ? {} : { verificationCode }) } });
  const loginCode = async (email: string, password: string, code?: string) => errorCode(await loginWith(email, password, code));
  const seedOf = async (email: string) => (await server.gql(SeedDocument, { email })).body.data!.clientSaltSeed as string;
  const pendingCount = async (email: string) =>
    Number(
      (await queryRows(server.app.db.dataSource.manager, 'SELECT COUNT(*) AS n FROM pending_registrations WHERE email_normalized = ?', [email.normalize('NFC').toLowerCase()]))[0]
        .n,
    );
  const accountCount = async (email: string) =>
    Number((await queryRows(server.app.db.dataSource.manager, 'SELECT COUNT(*) AS n FROM accounts WHERE email_normalized = ?', [email.normalize('NFC').toLowerCase()]))[0].n);

  it('when a login follows register at once, then it finds the registration (ACCOUNT_NOT_VERIFIED, not UNAUTHENTICATED), though register stores it in the background', async () => {
    for (let round = 0; round < 8; round++) {
      const email = uniqueEmail();
      const registered = await server.gql(RegisterDocument, { input: { email, password: PASSWORD, clientSaltSeed: newSeed() } });
      expect(registered.body).toEqual({ data: { register: { verified: false } } });
      expect(await loginCode(email, PASSWORD)).toBe('ACCOUNT_NOT_VERIFIED');
    }
  });

  it('when an account lives its whole life, then register → code by mail → login with it → other device → change password → delete all work', async () => {
    const email = uniqueEmail();
    const registered = await server.gql(RegisterDocument, { input: { email, password: PASSWORD, clientSaltSeed: newSeed() } });
    expect(registered.body).toEqual({ data: { register: { verified: false } } });
    const mail = await mailed(email);
    expect(mail.from?.text).toContain('noreply@wallet.example.org');
    const code = verificationCode(mail);
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(mail.subject).toContain(code);
    expect(mail.html).toContain(code);
    // Nothing in the mail acts when opened: no link to this server at all.
    expect(`${mail.text} ${mail.html}`).not.toMatch(/https?:\/\/[^\s"<]*\/(verify|graphql)/);

    expect(await loginCode(email, PASSWORD)).toBe('ACCOUNT_NOT_VERIFIED');
    const laptop = await loginWith(email, PASSWORD, code.toLowerCase().replace('-', ''), 'laptop');
    expect(laptop.body.errors).toBeUndefined();
    const laptopToken = laptop.body.data!.login.token as string;
    expect((await server.gql(MeDocument, {}, laptopToken)).body.data!.me).toMatchObject({ email, verified: true });

    // The code was needed once; later logins do without it (and ignore it).
    const phone = await login(server, email, PASSWORD, 'phone');
    expect(await loginCode(email, PASSWORD, 'ZZZZ-ZZZZ')).toBeUndefined();
    await upload(server, phone, 1);
    const changed = await server.gql(ChangePasswordDocument, {
      input: { email, oldPassword: PASSWORD, newPassword: 'brand new password', clientSaltSeed: newSeed(), wallet: { encryptedWallet: 'w2', sequence: 2, hmac: 'h2' } },
    });
    expect(changed.body.data!.changePassword.__typename).toBe('ChangePasswordSuccess');
    expect(errorCode(await server.gql(WalletStateDocument, {}, laptopToken))).toBe('UNAUTHENTICATED');
    const tablet = await login(server, email, 'brand new password', 'tablet');
    expect((await server.gql('mutation($p: String!) { deleteAccount(password: $p) }', { p: 'brand new password' }, tablet.token)).body.data!.deleteAccount).toBe(true);

    // The email is free again: a new registration starts over with a new code.
    const again = await registerPending(email);
    expect(again.code).not.toBe(code);
  });

  it('when a stranger registers the victim\'s email first, then only the victim\'s code with the victim\'s password makes the account, and it is the victim\'s', async () => {
    const victim = uniqueEmail('victim');
    const decoyBefore = await seedOf(victim);
    const stranger = await registerPending(victim, 'the stranger password', newSeed());
    const owner = await registerPending(victim, 'the owner password', newSeed());
    // Both codes went to the owner's inbox; the stranger saw neither.
    expect(stranger.code).not.toBe(owner.code);
    expect(await seedOf(victim)).toBe(decoyBefore);

    expect(await loginCode(victim, 'the stranger password')).toBe('UNAUTHENTICATED');
    expect(await loginCode(victim, 'the stranger password', 'ABCD-EFGH')).toBe('UNAUTHENTICATED');
    // A code does not go with another registration's password, either way round.
    expect(await loginCode(victim, 'the stranger password', owner.code)).toBe('UNAUTHENTICATED');
    expect(await loginCode(victim, 'the owner password', stranger.code)).toBe('UNAUTHENTICATED');
    expect(await loginCode(victim, 'the owner password')).toBe('ACCOUNT_NOT_VERIFIED');

    expect(await loginCode(victim, 'the owner password', owner.code)).toBeUndefined();
    expect(await seedOf(victim)).toBe(owner.clientSaltSeed);
    expect(await accountCount(victim)).toBe(1);
    expect(await pendingCount(victim)).toBe(0);
    // The stranger's registration went with the others: its code and password open nothing.
    expect(await loginCode(victim, 'the stranger password', stranger.code)).toBe('UNAUTHENTICATED');
    expect(await loginCode(victim, 'the owner password')).toBeUndefined();
  });

  it('when the email is typed in another case or decomposed at the code login, then it is the same registration', async () => {
    const t = randomBytes(4).toString('hex');
    const reg = await registerPending(`J\u00f6e-${t}@example.org`);
    expect(await loginCode(`jo\u0308e-${t}@EXAMPLE.org`, PASSWORD, reg.code)).toBeUndefined();
  });

  it.each([
    ['as mailed', (code: string) => code],
    ['in lower case', (code: string) => code.toLowerCase()],
    ['without the hyphen', (code: string) => code.replace('-', '')],
    ['in lower case without the hyphen', (code: string) => code.replace('-', '').toLowerCase()],
  ])('when the code is typed %s, then it is accepted', async (_case, spell) => {
    const reg = await registerPending();
    expect(await loginCode(reg.email, PASSWORD, spell(reg.code))).toBeUndefined();
  });

  it.each([['ABC'], ['ABCD_EFGH'], ['ABCD-EFGH-J'], ['ABCD EFGH'], ['']])('when the code is malformed (%j), then BAD_USER_INPUT naming verificationCode', async (code) => {
    const reg = await registerPending();
    const response = await loginWith(reg.email, PASSWORD, code);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0].message).toMatch(/^verificationCode: /);
  });

  it('when the code is older than VERIFY_TOKEN_TTL_HOURS, then it opens nothing, and the maintenance purge removes the registration', async () => {
    const reg = await registerPending();
    clock.advance(48 * HOUR);
    expect(await loginCode(reg.email, PASSWORD, reg.code)).toBe('UNAUTHENTICATED');
    expect(await loginCode(reg.email, PASSWORD)).toBe('UNAUTHENTICATED');
    expect(await pendingCount(reg.email)).toBe(1);
    expect(await server.app.services.verification.purgeExpired()).toBeGreaterThan(0);
    expect(await pendingCount(reg.email)).toBe(0);
  });

  it('when a new code is asked for, then the newest registration gets it, its earlier code stops working, and older registrations keep theirs', async () => {
    const email = uniqueEmail();
    const older = await registerPending(email, 'the older password');
    const newest = await registerPending(email, 'the newest password');
    const resend = await server.gql(RESEND, { e: email.toUpperCase() });
    expect(resend.body).toEqual({ data: { resendVerificationEmail: true } });
    const fresh = verificationCode(await mailed(email));
    expect(fresh).not.toBe(newest.code);
    expect(await loginCode(email, 'the newest password', newest.code)).toBe('UNAUTHENTICATED');
    expect(await loginCode(email, 'the older password', older.code)).toBeUndefined();
    // The account exists now: the other registration (and its fresh code) went with it.
    expect(await loginCode(email, 'the newest password', fresh)).toBe('UNAUTHENTICATED');
  });

  it('when a sixth registration of one email arrives, then the oldest goes and the other five still work', async () => {
    const email = uniqueEmail();
    const registrations = [];
    for (let i = 0; i < 6; i += 1) registrations.push(await registerPending(email, `password number ${i}`));
    expect(await pendingCount(email)).toBe(5);
    expect(await loginCode(email, 'password number 0', registrations[0].code)).toBe('UNAUTHENTICATED');
    expect(await loginCode(email, 'password number 1', registrations[1].code)).toBeUndefined();
  });

  it('when a new code is asked for an unknown or an already verified email, then the answer is the same and no mail goes out', async () => {
    const verified = await registerPending();
    await loginCode(verified.email, PASSWORD, verified.code);
    const ghost = uniqueEmail('ghost');
    expect((await server.gql(RESEND, { e: ghost })).body).toEqual({ data: { resendVerificationEmail: true } });
    expect((await server.gql(RESEND, { e: verified.email })).body).toEqual({ data: { resendVerificationEmail: true } });
    await server.app.services.verification.idle();
    expect(smtp.mailsTo(ghost)).toHaveLength(0);
    expect(smtp.mailsTo(verified.email).filter(isCodeMail)).toHaveLength(0);
  });

  it('when someone registers an email that has an account, then the answer is a fresh registration\'s, nothing is stored, and the owner is told', async () => {
    const owner = await registerPending();
    await loginCode(owner.email, PASSWORD, owner.code);
    await server.gql(RegisterDocument, { input: { email: owner.email.toUpperCase(), password: 'attacker password', clientSaltSeed: newSeed() } }).then((r) =>
      expect(r.body).toEqual({ data: { register: { verified: false } } }),
    );
    await server.app.services.verification.idle();
    const notice = await smtp.nextMailTo(owner.email, 5000, (mail) => /tried to sign up/.test(mail.subject ?? ''));
    expect(notice.subject).toMatch(/tried to sign up/);
    expect(() => verificationCode(notice)).toThrow();
    expect(await pendingCount(owner.email)).toBe(0);
    expect(await loginCode(owner.email, 'attacker password')).toBe('UNAUTHENTICATED');
    expect(await seedOf(owner.email)).toBe(owner.clientSaltSeed);
  });

  it('when a pending registration changes its password, then ACCOUNT_NOT_VERIFIED and nothing changes', async () => {
    const reg = await registerPending();
    const response = await server.gql(ChangePasswordDocument, { input: { email: reg.email, oldPassword: PASSWORD, newPassword: 'another password', clientSaltSeed: newSeed() } });
    expect(errorCode(response)).toBe('ACCOUNT_NOT_VERIFIED');
    expect(await loginCode(reg.email, PASSWORD, reg.code)).toBeUndefined();
    expect(await seedOf(reg.email)).toBe(reg.clientSaltSeed);
  });

  it('when several logins race with the same code, then exactly one account is made and each answer is a token or UNAUTHENTICATED', async () => {
    const reg = await registerPending();
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => loginWith(reg.email, PASSWORD, reg.code, `device-${i}`)));
    const codes = answers.map((a) => errorCode(a) ?? 'token');
    expect(codes).toContain('token');
    for (const code of codes) expect(['token', 'UNAUTHENTICATED']).toContain(code);
    expect(await accountCount(reg.email)).toBe(1);
    expect(await pendingCount(reg.email)).toBe(0);
  });

  it.each([
    ['GET /verify', 'GET'],
    ['HEAD /verify', 'HEAD'],
  ])('when %s is requested (as a mail scanner would), then 404: no link acts any more', async (_case, method) => {
    const response = await fetch(`${server.url}/verify?token=anything`, { method });
    expect(response.status).toBe(404);
  });

  it('when verifyAccount is sent, then GRAPHQL_VALIDATION_FAILED: it is gone from the API', async () => {
    const response = await server.gql('mutation { verifyAccount(token: "x") }');
    expect(response.status).toBe(400);
    expect(errorCode(response)).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe(`EmailVerify mode: a wrong code is a failed password attempt (${testDialect()})`, () => {
  const smtp = new TestSmtpServer();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ ...MAIL_ENV(await smtp.start()), RATE_LIMITS: 'on', TRUST_PROXY: 'on', RATE_LIMIT_PASSWORD_FAILURES_PER_ACCOUNT: '3/600' });
  });
  afterAll(async () => {
    await server.close();
    await smtp.stop();
  });

  const mailed = (email: string) => codeMailTo(smtp, server.app, email);
  const post = <TData, TVariables>(operation: Operation<TData, TVariables>, variables: TVariables) =>
    postGraphQL(server.url, operation, variables, undefined, { 'x-forwarded-for': randomIp() });

  it('when wrong codes use up the account\'s failed attempts, then even the right code with the right password is RATE_LIMITED', async () => {
    const email = uniqueEmail();
    await post(RegisterDocument, { input: { email, password: PASSWORD, clientSaltSeed: newSeed() } });
    const code = verificationCode(await mailed(email));
    const attempt = (verificationCode: string) => post(LoginDocument, { input: { email, password: PASSWORD, deviceId: 'd', verificationCode } });
    for (const wrong of ['AAAA-AAAA', 'BBBB-BBBB', 'CCCC-CCCC']) expect(errorCode(await attempt(wrong))).toBe('UNAUTHENTICATED');
    expect(errorCode(await attempt(code))).toBe('RATE_LIMITED');
  });

  it('when a login without a code matches the pending registration between wrong codes, then the failed attempts still add up to the lock-out', async () => {
    const email = uniqueEmail();
    await post(RegisterDocument, { input: { email, password: PASSWORD, clientSaltSeed: newSeed() } });
    const code = verificationCode(await mailed(email));
    const attempt = (verificationCode?: string) => post(LoginDocument, { input: { email, password: PASSWORD, deviceId: 'd', ...(verificationCode ? { verificationCode } : {}) } });
    for (const wrong of ['AAAA-AAAA', 'BBBB-BBBB']) expect(errorCode(await attempt(wrong))).toBe('UNAUTHENTICATED');
    // The attacker chose this registration's password: its match must not wipe the count of code guesses.
    expect(errorCode(await attempt())).toBe('ACCOUNT_NOT_VERIFIED');
    expect(errorCode(await attempt('CCCC-CCCC'))).toBe('UNAUTHENTICATED');
    expect(errorCode(await attempt(code))).toBe('RATE_LIMITED');
  });
});

describe('EmailVerify mode when the SMTP server is down', () => {
  it('when the mail cannot be sent at registration, then the registration waits and a resend, once SMTP is back, mails a code that works', async () => {
    const smtp = new TestSmtpServer();
    const smtpUrl = await smtp.start();
    const port = smtp.port;
    await smtp.stop();
    const server = await startTestServer(MAIL_ENV(smtpUrl));
    try {
      const email = uniqueEmail();
      const registered = await server.gql(RegisterDocument, { input: { email, password: PASSWORD, clientSaltSeed: newSeed() } });
      expect(registered.body).toEqual({ data: { register: { verified: false } } });
      await server.app.services.verification.idle();

      await smtp.start(port);
      expect((await server.gql(RESEND, { e: email })).body.data!.resendVerificationEmail).toBe(true);
      const code = verificationCode(await codeMailTo(smtp, server.app, email));
      expect((await server.gql(LoginDocument, { input: { email, password: PASSWORD, deviceId: 'd', verificationCode: code } })).body.data!.login.token).toBeTruthy();
    } finally {
      await server.close();
      await smtp.stop();
    }
  });
});
