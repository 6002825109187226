import { errorCode, startTestServer, type TestServer } from '../helpers/app';
import { ManualClock } from '../helpers/clock';
import {
  CHANGE_PASSWORD,
  CLIENT_SALT_SEED,
  LOGIN,
  PASSWORD,
  REGISTER,
  WALLET_STATE,
  login,
  newSeed,
  uniqueEmail,
  upload,
} from '../helpers/operations';
import { TestSmtpServer, isNewDeviceNotice, verificationLink } from '../helpers/smtp';

const PUBLIC_URL = 'https://wallet.example.org';
const HOUR = 60 * 60 * 1000;

describe('EmailVerify mode, over real SMTP', () => {
  const smtp = new TestSmtpServer();
  const clock = new ManualClock();
  let server: TestServer;

  beforeAll(async () => {
    const smtpUrl = await smtp.start();
    server = await startTestServer(
      { ACCOUNT_VERIFICATION_MODE: 'EmailVerify', SMTP_URL: smtpUrl, MAIL_FROM: 'Wallet Sync <noreply@wallet.example.org>', PUBLIC_URL },
      { clock },
    );
  });
  afterAll(async () => {
    await server.close();
    await smtp.stop();
  });

  const registerNew = async (email = uniqueEmail(), password = PASSWORD, clientSaltSeed = newSeed()) => {
    const response = await server.gql(REGISTER, { input: { email, password, clientSaltSeed } });
    expect(response.body).toEqual({ data: { register: { verified: false } } });
    return { email, password, clientSaltSeed };
  };
  const loginCode = async (email: string, password: string) => errorCode(await server.gql(LOGIN, { input: { email, password, deviceId: 'd' } }));
  const openLink = async (link: string) => {
    const response = await fetch(link);
    return { status: response.status, html: await response.text(), headers: response.headers };
  };

  it('when an account lives its whole life, then register → mail → link → login → change password → other device → delete all work', async () => {
    const account = await registerNew();
    expect(await loginCode(account.email, account.password)).toBe('ACCOUNT_NOT_VERIFIED');

    const mail = await smtp.nextMailTo(account.email);
    expect(mail.from?.text).toContain('noreply@wallet.example.org');
    expect(mail.text).toContain(`${PUBLIC_URL}/verify?token=`);
    expect(mail.html).toContain(`${PUBLIC_URL}/verify?token=`);
    const link = verificationLink(mail, server.url);

    const page = await openLink(link);
    expect(page.status).toBe(200);
    expect(page.html).toContain('Email confirmed');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect((await openLink(link)).status).toBe(400);

    const laptop = await login(server, account.email, account.password, 'laptop');
    const phone = await login(server, account.email, account.password, 'phone');
    expect((await upload(server, laptop, 1, 'wallet-under-old-keys')).__typename).toBe('WalletStateSuccess');

    const newSeedHex = newSeed();
    const changed = await server.gql(CHANGE_PASSWORD, {
      input: {
        email: account.email,
        oldPassword: account.password,
        newPassword: 'brand new password',
        clientSaltSeed: newSeedHex,
        wallet: { encryptedWallet: 'wallet-under-new-keys', sequence: 2, hmac: 'new-hmac' },
      },
    });
    expect(changed.body.data.changePassword).toEqual({
      __typename: 'ChangePasswordSuccess',
      walletState: { encryptedWallet: 'wallet-under-new-keys', sequence: 2, hmac: 'new-hmac' },
    });
    for (const old of [laptop, phone]) expect(errorCode(await server.gql(WALLET_STATE, {}, old.token))).toBe('UNAUTHENTICATED');

    // Another device fetches the new seed, derives, logs in with the new password.
    const seed = await server.gql(CLIENT_SALT_SEED, { email: account.email });
    expect(seed.body.data.clientSaltSeed).toBe(newSeedHex);
    expect(await loginCode(account.email, account.password)).toBe('UNAUTHENTICATED');
    const tablet = await login(server, account.email, 'brand new password', 'tablet');
    expect((await server.gql(WALLET_STATE, {}, tablet.token)).body.data.walletState).toMatchObject({ sequence: 2, encryptedWallet: 'wallet-under-new-keys' });

    const deleted = await server.gql('mutation($p: String!) { deleteAccount(password: $p) }', { p: 'brand new password' }, tablet.token);
    expect(deleted.body.data.deleteAccount).toBe(true);
    expect(errorCode(await server.gql(WALLET_STATE, {}, tablet.token))).toBe('UNAUTHENTICATED');
    expect(await loginCode(account.email, 'brand new password')).toBe('UNAUTHENTICATED');

    // The email is free again: a new registration starts over with a new link.
    await registerNew(account.email);
    const next = await smtp.nextMailTo(account.email, 5000, (mail) => !isNewDeviceNotice(mail));
    expect(verificationLink(next, server.url)).not.toBe(link);
  });

  it('when verifyAccount is called over GraphQL, then a good token verifies once; unknown or used tokens get INVALID_VERIFY_TOKEN', async () => {
    const account = await registerNew();
    const token = new URL(verificationLink(await smtp.nextMailTo(account.email), server.url)).searchParams.get('token')!;
    const VERIFY = 'mutation($t: String!) { verifyAccount(token: $t) }';
    expect(errorCode(await server.gql(VERIFY, { t: 'not-a-token' }))).toBe('INVALID_VERIFY_TOKEN');
    expect((await server.gql(VERIFY, { t: token })).body.data.verifyAccount).toBe(true);
    expect(errorCode(await server.gql(VERIFY, { t: token }))).toBe('INVALID_VERIFY_TOKEN');
    expect(await loginCode(account.email, account.password)).toBeUndefined();
  });

  it('when the link is older than VERIFY_TOKEN_TTL_HOURS, then the page says so with a 4xx and the account stays unverified', async () => {
    const account = await registerNew();
    const link = verificationLink(await smtp.nextMailTo(account.email), server.url);
    clock.advance(48 * HOUR);
    const page = await openLink(link);
    expect(page.status).toBe(400);
    expect(page.html).toContain('invalid, expired or already used');
    expect(await loginCode(account.email, account.password)).toBe('ACCOUNT_NOT_VERIFIED');
  });

  it('when a new link is asked for, then the earlier one stops working and the new one works', async () => {
    const account = await registerNew();
    const first = verificationLink(await smtp.nextMailTo(account.email), server.url);
    const resend = await server.gql('mutation($e: String!) { resendVerificationEmail(email: $e) }', { e: account.email.toUpperCase() });
    expect(resend.body.data.resendVerificationEmail).toBe(true);
    const second = verificationLink(await smtp.nextMailTo(account.email), server.url);
    expect(second).not.toBe(first);
    expect((await openLink(first)).status).toBe(400);
    expect((await openLink(second)).status).toBe(200);
  });

  it('when a new link is asked for an unknown or an already verified email, then the answer is the same and no mail goes out', async () => {
    const verified = await registerNew();
    await openLink(verificationLink(await smtp.nextMailTo(verified.email), server.url));
    const ghost = uniqueEmail('ghost');
    const RESEND = 'mutation($e: String!) { resendVerificationEmail(email: $e) }';
    expect((await server.gql(RESEND, { e: ghost })).body).toEqual({ data: { resendVerificationEmail: true } });
    expect((await server.gql(RESEND, { e: verified.email })).body).toEqual({ data: { resendVerificationEmail: true } });
    // A pending account's mail, sent after both, arrives: the two before it would have too.
    const pending = await registerNew();
    await smtp.nextMailTo(pending.email);
    expect(smtp.mailsTo(ghost)).toHaveLength(0);
    expect(smtp.mailsTo(verified.email)).toHaveLength(0);
  });

  it('when someone registers an email that has a verified account, then the answer is a fresh registration\'s, nothing changes, and the owner is told', async () => {
    const owner = await registerNew();
    await openLink(verificationLink(await smtp.nextMailTo(owner.email), server.url));
    const seedBefore = (await server.gql(CLIENT_SALT_SEED, { email: owner.email })).body.data.clientSaltSeed;

    await registerNew(owner.email.toUpperCase(), 'attacker password', newSeed());
    const notice = await smtp.nextMailTo(owner.email);
    expect(notice.subject).toMatch(/tried to sign up/);
    expect(notice.text).not.toContain('/verify?token=');
    expect(await loginCode(owner.email, owner.password)).toBeUndefined();
    expect(await loginCode(owner.email, 'attacker password')).toBe('UNAUTHENTICATED');
    expect((await server.gql(CLIENT_SALT_SEED, { email: owner.email })).body.data.clientSaltSeed).toBe(seedBefore);
  });

  it('when an unverified account changes its password, then ACCOUNT_NOT_VERIFIED and nothing changes', async () => {
    const account = await registerNew();
    await smtp.nextMailTo(account.email);
    const response = await server.gql(CHANGE_PASSWORD, {
      input: { email: account.email, oldPassword: account.password, newPassword: 'another password', clientSaltSeed: newSeed() },
    });
    expect(errorCode(response)).toBe('ACCOUNT_NOT_VERIFIED');
    expect((await server.gql(CLIENT_SALT_SEED, { email: account.email })).body.data.clientSaltSeed).toBe(account.clientSaltSeed);
  });

  it('when verification links expire, then the maintenance purge removes them', async () => {
    const account = await registerNew();
    await smtp.nextMailTo(account.email);
    const count = async () => Number((await server.app.db.dataSource.query('SELECT COUNT(*) AS n FROM verification_tokens'))[0].n);
    expect(await count()).toBeGreaterThan(0);
    clock.advance(49 * HOUR);
    expect(await server.app.services.verification.purgeExpired()).toBeGreaterThan(0);
    expect(await count()).toBe(0);
  });
});

describe('EmailVerify mode when the SMTP server is down', () => {
  it('when the mail cannot be sent at registration, then the account waits unverified and a resend, once SMTP is back, recovers it', async () => {
    const smtp = new TestSmtpServer();
    const smtpUrl = await smtp.start();
    const port = smtp.port;
    await smtp.stop();
    const server = await startTestServer({ ACCOUNT_VERIFICATION_MODE: 'EmailVerify', SMTP_URL: smtpUrl, MAIL_FROM: 'noreply@example.org', PUBLIC_URL });
    try {
      const email = uniqueEmail();
      const registered = await server.gql(REGISTER, { input: { email, password: PASSWORD, clientSaltSeed: newSeed() } });
      expect(registered.body).toEqual({ data: { register: { verified: false } } });

      await smtp.start(port);
      const resend = await server.gql('mutation($e: String!) { resendVerificationEmail(email: $e) }', { e: email });
      expect(resend.body.data.resendVerificationEmail).toBe(true);
      const link = verificationLink(await smtp.nextMailTo(email), server.url);
      expect((await fetch(link)).status).toBe(200);
      expect((await server.gql(LOGIN, { input: { email, password: PASSWORD, deviceId: 'd' } })).body.data.login.token).toBeTruthy();
    } finally {
      await server.close();
      await smtp.stop();
    }
  });
});
