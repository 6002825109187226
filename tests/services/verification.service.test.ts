import { ErrorCode } from '../../src/errors';
import { HOUR_MS } from '../../src/lib/clock';
import { DEFAULT_KEY_PARAMS } from '../../src/lib/key-params';
import { normalizeEmail } from '../../src/lib/email';
import { MAX_PENDING_PER_EMAIL } from '../../src/services/verification.service';
import { testDialect } from '../../test-support/database';
import { uniqueEmail } from '../../test-support/operations';
import { mailedCode } from '../helpers/recorders';
import { useTestServices } from '../helpers/services-under-test';

/**
 * EmailVerify's pending registrations in VerificationService, wired as the
 * server wires it, on the real database of this pass, with a clock the test
 * moves: what is stored, what is mailed, when a code works and when it expires.
 */
describe(`VerificationService on ${testDialect()}`, () => {
  const TTL_HOURS = 6;
  const t = useTestServices({
    ACCOUNT_VERIFICATION_MODE: 'EmailVerify',
    SMTP_URL: 'smtp://127.0.0.1:2525',
    MAIL_FROM: 'noreply@example.org',
    PUBLIC_URL: 'https://wallet.example',
    VERIFY_TOKEN_TTL_HOURS: String(TTL_HOURS),
  });
  const IP = '127.0.0.1';
  const PASSWORD = 'correct horse battery staple';

  /** A registration through the API's path (AccountService.register hashes, then hands over); its mailed code. */
  async function registerPending(email = uniqueEmail('pending'), password = PASSWORD): Promise<{ email: string; password: string; code: string }> {
    await expect(t.services.accounts.register({ email, password, clientSaltSeed: 'AB'.repeat(32) }, IP)).resolves.toEqual({ verified: false });
    await t.services.verification.idle();
    return { email, password, code: mailedCode(t.mail.to(email).at(-1)) };
  }
  const live = (email: string) => t.services.verification.live(normalizeEmail(email));
  const accountOf = (email: string) => t.db.run((m) => t.services.repositories.accounts.findByEmail(m, normalizeEmail(email)));
  const login = (email: string, password: string, code?: string) => t.services.sessions.login({ email, password, deviceId: 'phone', ip: IP, verificationCode: code });

  describe('register', () => {
    it('when an email registers, then a pending registration (not an account) is stored expiring VERIFY_TOKEN_TTL_HOURS later, and its code is mailed', async () => {
      const { email, code } = await registerPending();
      expect(await accountOf(email)).toBeNull();
      const [pending] = await live(email);
      expect(pending).toMatchObject({ email, createdAt: t.clock.now(), expiresAt: new Date(t.clock.now().getTime() + TTL_HOURS * HOUR_MS), clientSaltSeed: 'ab'.repeat(32) });
      expect(t.services.verification.matchCode([pending], code)).toBe(pending);
      const [mail] = t.mail.to(email);
      expect(mail.text).toContain(code);
      expect(mail.text).toContain('https://wallet.example');
      expect(mail.text).toContain(`expires in ${TTL_HOURS} hours`);
    });

    it('when an email that has an account registers again, then nothing is stored and the owner is told instead of mailed a code', async () => {
      const { email, password, code } = await registerPending();
      await login(email, password, code);
      t.mail.sent.length = 0;
      await t.services.accounts.register({ email: email.toUpperCase(), password: 'another password', clientSaltSeed: 'cd'.repeat(32) }, IP);
      await t.services.verification.idle();
      expect(await live(email)).toEqual([]);
      expect(t.mail.sent.map((m) => [m.to, m.subject])).toEqual([[email, 'Someone tried to sign up with your email']]);
    });

    it(`when an email registers more than ${MAX_PENDING_PER_EMAIL} times, then only the newest ${MAX_PENDING_PER_EMAIL} wait and the oldest codes stop working`, async () => {
      const email = uniqueEmail('many');
      const codes: string[] = [];
      for (let i = 0; i < MAX_PENDING_PER_EMAIL + 2; i += 1) codes.push((await registerPending(email, `password number ${i}`)).code);
      const waiting = await live(email);
      expect(waiting).toHaveLength(MAX_PENDING_PER_EMAIL);
      expect(codes.map((code) => t.services.verification.matchCode(waiting, code) !== undefined)).toEqual([false, false, true, true, true, true, true]);
    });
  });

  describe('the first login with the code', () => {
    it('when the code and that registration’s password are given, then the account exists, verified, with its seed and key parameters, and every pending registration of the email is gone', async () => {
      const email = uniqueEmail('first');
      const first = await registerPending(email, 'first password');
      await registerPending(email, 'second password');
      const issued = await login(email, first.password, first.code);
      const account = await accountOf(email);
      expect(account).toMatchObject({ email, verified: true, clientSaltSeed: 'ab'.repeat(32), keyN: DEFAULT_KEY_PARAMS.n, createdAt: t.clock.now() });
      await expect(t.services.sessions.authenticate(issued.token)).resolves.toMatchObject({ accountId: account!.id, deviceId: 'phone' });
      expect(await live(email)).toEqual([]);
      expect((await t.services.activity.list(account!.id, null, 10)).map((e) => e.kind).sort()).toEqual(['LOGIN', 'REGISTERED', 'VERIFIED']);
    });

    it.each([
      ['without a code but with the newest registration’s password', ErrorCode.AccountNotVerified, 'second password', undefined],
      ['without a code, with an older registration’s password', ErrorCode.Unauthenticated, 'first password', undefined],
      ['with another registration’s code', ErrorCode.Unauthenticated, 'first password', 'second'],
      ['with the code and another registration’s password', ErrorCode.Unauthenticated, 'second password', 'first'],
      ['with a code that was never mailed', ErrorCode.Unauthenticated, 'first password', 'ZZZZ-ZZZZ'],
    ])('when logging in %s, then %s and no account is made', async (_name, code, password, which) => {
      const email = uniqueEmail('wrong');
      const first = await registerPending(email, 'first password');
      const second = await registerPending(email, 'second password');
      const given = which === 'first' ? first.code : which === 'second' ? second.code : which;
      await expect(login(email, password, given)).rejects.toMatchObject({ code });
      expect(await accountOf(email)).toBeNull();
      expect(await live(email)).toHaveLength(2);
    });

    it('when the clock reaches the expiry, then the code no longer works and the registration is purged; a millisecond before, it works', async () => {
      const early = await registerPending();
      const late = await registerPending();
      t.clock.advance(TTL_HOURS * HOUR_MS - 1);
      await expect(login(early.email, early.password, early.code)).resolves.toMatchObject({ deviceId: 'phone' });
      t.clock.advance(1);
      await expect(login(late.email, late.password, late.code)).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
      expect(await live(late.email)).toEqual([]);
      expect(await t.services.verification.purgeExpired()).toBeGreaterThanOrEqual(1);
      expect(await t.db.run((m) => t.services.repositories.pendingRegistrations.listLive(m, normalizeEmail(late.email), new Date(0)))).toEqual([]);
    });
  });

  describe('resend', () => {
    it('when a code is resent, then a new code is mailed, the old one stops working and the expiry starts again from the clock', async () => {
      const { email, password, code } = await registerPending();
      t.clock.advance(TTL_HOURS * HOUR_MS - 1000);
      await t.services.verification.resend(email.toUpperCase(), IP);
      await t.services.verification.idle();
      const fresh = mailedCode(t.mail.to(email).at(-1));
      expect(fresh).not.toBe(code);
      const [pending] = await live(email);
      expect(pending.expiresAt).toEqual(new Date(t.clock.now().getTime() + TTL_HOURS * HOUR_MS));
      await expect(login(email, password, code)).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
      t.clock.advance(2000);
      await expect(login(email, password, fresh)).resolves.toMatchObject({ deviceId: 'phone' });
    });

    it.each([
      ['an email nobody registered', false],
      ['an email whose registration expired', true],
    ])('when a code is resent for %s, then nothing is mailed and nothing is stored', async (_name, registered) => {
      const email = uniqueEmail('resend');
      if (registered) {
        await registerPending(email);
        t.clock.advance(TTL_HOURS * HOUR_MS);
      }
      t.mail.sent.length = 0;
      await t.services.verification.resend(email, IP);
      await t.services.verification.idle();
      expect(t.mail.sent).toEqual([]);
      expect(await live(email)).toEqual([]);
    });
  });
});

describe(`VerificationService outside EmailVerify on ${testDialect()}`, () => {
  const t = useTestServices({ ACCOUNT_VERIFICATION_MODE: 'AllowAll' });

  it('when a code is resent in AllowAll mode, then nothing is looked up or mailed', async () => {
    await t.services.verification.resend('someone@example.com', '127.0.0.1');
    await t.services.verification.idle();
    expect(t.mail.sent).toEqual([]);
  });
});
