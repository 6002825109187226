import { ErrorCode } from '../../src/errors';
import { DEFAULT_KEY_PARAMS, KEY_ALGORITHM } from '../../src/lib/key-params';
import { normalizeEmail } from '../../src/lib/email';
import type { AuthSession } from '../../src/services/session';
import { testDialect } from '../../test-support/database';
import { uniqueEmail } from '../../test-support/operations';
import { useTestServices } from '../helpers/services-under-test';

const IP = '127.0.0.1';
const PASSWORD = 'correct horse battery staple';
const SEED = 'ab'.repeat(32);
const NEW_SEED = 'cd'.repeat(32);

/**
 * Who may have an account and how its credentials change, in AccountService
 * wired as the server wires it, on the real database of this pass, with a clock
 * the test moves: what is stored, what is answered, what is announced.
 */
describe(`AccountService on ${testDialect()}`, () => {
  const t = useTestServices();

  async function registered(email = uniqueEmail('account'), password = PASSWORD) {
    await expect(t.services.accounts.register({ email, password, clientSaltSeed: SEED.toUpperCase() }, IP)).resolves.toEqual({ verified: true });
    const account = await t.db.run((m) => t.services.repositories.accounts.findByEmail(m, normalizeEmail(email)));
    return { id: account!.id, email, password };
  }
  const loggedIn = async (account: { email: string; password: string }, deviceId = 'phone') => {
    const issued = await t.services.sessions.login({ email: account.email, password: account.password, deviceId, ip: IP });
    return { ...issued, session: await t.services.sessions.authenticate(issued.token) };
  };
  const wallet = (sequence: number, tag = '') => ({ encryptedWallet: `encrypted-${sequence}${tag}`, sequence, hmac: `hmac-${sequence}${tag}` });

  describe('register (AllowAll)', () => {
    it('when an email registers, then the account is verified at once, stamped by the clock, with its seed lower-cased and the default key parameters', async () => {
      const { id, email } = await registered();
      expect(await t.services.accounts.get(id)).toEqual({ id, email, verified: true, createdAt: t.clock.now() });
      expect(await t.services.accounts.clientKeyParams(email.toUpperCase(), IP)).toEqual({ clientSaltSeed: SEED, algorithm: KEY_ALGORITHM, ...DEFAULT_KEY_PARAMS });
      expect((await t.services.activity.list(id, null, 10)).map((e) => e.kind)).toEqual(['REGISTERED']);
    });

    it.each([
      ['the same email', (email: string) => email],
      ['the email in another case', (email: string) => email.toUpperCase()],
      ['the email in another Unicode form (NFD)', (email: string) => email.normalize('NFD')],
    ])('when %s registers again, then EMAIL_TAKEN and the first account keeps its password', async (_name, again) => {
      const first = await registered(`jöe-${Math.random().toString(36).slice(2)}@example.com`);
      await expect(t.services.accounts.register({ email: again(first.email), password: 'another password', clientSaltSeed: NEW_SEED }, IP)).rejects.toMatchObject({
        code: ErrorCode.EmailTaken,
      });
      await expect(t.services.sessions.login({ email: first.email, password: first.password, deviceId: 'phone', ip: IP })).resolves.toMatchObject({ deviceId: 'phone' });
    });
  });

  describe('clientKeyParams', () => {
    it('when the email has no account, then a decoy: stable per email, shaped like a seed, different per email, with the default parameters', async () => {
      const nobody = uniqueEmail('nobody');
      const decoy = await t.services.accounts.clientKeyParams(nobody, IP);
      expect(decoy).toEqual({ clientSaltSeed: expect.stringMatching(/^[0-9a-f]{64}$/), algorithm: KEY_ALGORITHM, ...DEFAULT_KEY_PARAMS });
      expect(await t.services.accounts.clientSaltSeed(nobody.toUpperCase(), IP)).toBe(decoy.clientSaltSeed);
      expect(await t.services.accounts.clientSaltSeed(uniqueEmail('other'), IP)).not.toBe(decoy.clientSaltSeed);
    });

    it('when an account registered with its own key parameters, then they are answered', async () => {
      const email = uniqueEmail('params');
      await t.services.accounts.register({ email, password: PASSWORD, clientSaltSeed: SEED, keyParams: { n: 2 ** 14, r: 8, p: 2 } }, IP);
      expect(await t.services.accounts.clientKeyParams(email, IP)).toEqual({ clientSaltSeed: SEED, algorithm: KEY_ALGORITHM, n: 2 ** 14, r: 8, p: 2 });
    });
  });

  describe('changePassword', () => {
    it('when the old password is right and the wallet is re-encrypted at the next sequence, then the new credentials hold, every token is revoked and the new wallet is announced before the revocation', async () => {
      const account = await registered();
      const phone = await loggedIn(account, 'phone');
      const laptop = await loggedIn(account, 'laptop');
      await t.services.wallets.update(phone.session, wallet(1));
      t.clock.advance(60_000);
      t.events.log.length = 0;

      const outcome = await t.services.accounts.changePassword(
        { email: account.email, oldPassword: PASSWORD, newPassword: 'a new password', clientSaltSeed: NEW_SEED.toUpperCase(), wallet: wallet(2, 'new keys'), keyParams: { n: 2 ** 15, r: 8, p: 1 } },
        IP,
      );

      expect(outcome).toMatchObject({ kind: 'success', wallet: { ...wallet(2, 'new keys'), updatedAt: t.clock.now() } });
      expect(t.events.log).toEqual([
        ['walletUpdated', account.id, 2],
        ['tokensRevoked', account.id, undefined],
      ]);
      for (const { token } of [phone, laptop]) await expect(t.services.sessions.authenticate(token)).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
      await expect(t.services.sessions.login({ email: account.email, password: PASSWORD, deviceId: 'phone', ip: IP })).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
      await expect(t.services.sessions.login({ email: account.email, password: 'a new password', deviceId: 'phone', ip: IP })).resolves.toMatchObject({ deviceId: 'phone' });
      expect(await t.services.accounts.clientKeyParams(account.email, IP)).toMatchObject({ clientSaltSeed: NEW_SEED, n: 2 ** 15, r: 8, p: 1 });
      expect(await t.services.wallets.get(account.id)).toMatchObject(wallet(2, 'new keys'));
    });

    it('when the account has no wallet and none is sent, then the credentials change and only the revocation is announced', async () => {
      const account = await registered();
      const phone = await loggedIn(account);
      t.events.log.length = 0;
      const outcome = await t.services.accounts.changePassword({ email: account.email, oldPassword: PASSWORD, newPassword: 'a new password', clientSaltSeed: NEW_SEED }, IP);
      expect(outcome).toMatchObject({ kind: 'success', wallet: null });
      expect(t.events.log).toEqual([['tokensRevoked', account.id, undefined]]);
      await expect(t.services.sessions.authenticate(phone.token)).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
      expect(await t.services.accounts.clientSaltSeed(account.email, IP)).toBe(NEW_SEED);
    });

    it.each([
      ['the re-encrypted wallet is not at the next sequence', 1, wallet(3, 'new keys')],
      ['no wallet is sent though the account has one', 1, null],
      ['a wallet is sent though the account has none', null, wallet(1, 'new keys')],
    ])('when %s, then a conflict with the stored state and nothing changes: password, seed, tokens, wallet', async (_name, existing, sent) => {
      const account = await registered();
      const phone = await loggedIn(account);
      if (existing) await t.services.wallets.update(phone.session, wallet(existing));
      const stored = await t.services.wallets.get(account.id);
      t.events.log.length = 0;
      const outcome = await t.services.accounts.changePassword({ email: account.email, oldPassword: PASSWORD, newPassword: 'a new password', clientSaltSeed: NEW_SEED, wallet: sent }, IP);
      expect(outcome).toMatchObject({ kind: 'conflict', latest: stored });
      expect(t.events.log).toEqual([]);
      await expect(t.services.sessions.authenticate(phone.token)).resolves.toMatchObject({ accountId: account.id });
      expect(await t.services.accounts.clientSaltSeed(account.email, IP)).toBe(SEED);
      expect(await t.services.wallets.get(account.id)).toEqual(stored);
      await expect(t.services.sessions.login({ email: account.email, password: PASSWORD, deviceId: 'laptop', ip: IP })).resolves.toMatchObject({ deviceId: 'laptop' });
    });

    it.each([
      ['a wrong old password', { oldPassword: 'wrong password' }, ErrorCode.Unauthenticated],
      ['an unknown email', { email: 'nobody-at-all@example.com' }, ErrorCode.Unauthenticated],
      ['the new password equal to the old one', { newPassword: PASSWORD }, ErrorCode.BadUserInput],
    ])('when changing the password with %s, then %s and nothing changes', async (_name, change, code) => {
      const account = await registered();
      const phone = await loggedIn(account);
      t.events.log.length = 0;
      await expect(
        t.services.accounts.changePassword({ email: account.email, oldPassword: PASSWORD, newPassword: 'a new password', clientSaltSeed: NEW_SEED, ...change }, IP),
      ).rejects.toMatchObject({ code });
      expect(t.events.log).toEqual([]);
      await expect(t.services.sessions.authenticate(phone.token)).resolves.toMatchObject({ accountId: account.id });
      expect(await t.services.accounts.clientSaltSeed(account.email, IP)).toBe(SEED);
    });
  });

  describe('deleteAccount', () => {
    it('when the password is confirmed, then the account, its wallet and its tokens are gone, its live connections are told, and the email answers a decoy', async () => {
      const account = await registered();
      const phone = await loggedIn(account);
      await t.services.wallets.update(phone.session, wallet(1));
      t.events.log.length = 0;
      expect(await t.services.accounts.deleteAccount({ session: phone.session, password: PASSWORD, ip: IP })).toBe(true);
      expect(t.events.log).toEqual([['tokensRevoked', account.id, undefined]]);
      expect(await t.services.accounts.get(account.id)).toBeNull();
      expect(await t.services.wallets.get(account.id)).toBeNull();
      await expect(t.services.sessions.authenticate(phone.token)).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
      expect(await t.services.accounts.clientSaltSeed(account.email, IP)).toBe(t.services.accounts.decoySeed(normalizeEmail(account.email)));
      // The email is free again.
      await registered(account.email);
    });

    it('when the password is wrong, then UNAUTHENTICATED and the account stays as it was', async () => {
      const account = await registered();
      const phone = await loggedIn(account);
      t.events.log.length = 0;
      await expect(t.services.accounts.deleteAccount({ session: phone.session, password: 'wrong password', ip: IP })).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
      expect(t.events.log).toEqual([]);
      expect(await t.services.accounts.get(account.id)).toMatchObject({ id: account.id });
      await expect(t.services.sessions.authenticate(phone.token)).resolves.toMatchObject({ accountId: account.id });
    });

    it('when the session’s account is already gone, then UNAUTHENTICATED; deleteById answers false and announces nothing', async () => {
      const account = await registered();
      const phone = await loggedIn(account);
      expect(await t.services.accounts.deleteById(account.id)).toBe(true);
      t.events.log.length = 0;
      const stale: AuthSession = phone.session;
      await expect(t.services.accounts.deleteAccount({ session: stale, password: PASSWORD, ip: IP })).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
      expect(await t.services.accounts.deleteById(account.id)).toBe(false);
      expect(t.events.log).toEqual([]);
    });
  });
});

describe(`AccountService in Whitelist mode on ${testDialect()}`, () => {
  const t = useTestServices({ ACCOUNT_VERIFICATION_MODE: 'Whitelist', ACCOUNT_WHITELIST: 'listed@example.com' });

  it.each([
    ['an email in ACCOUNT_WHITELIST, in another case', 'Listed@Example.com', 'a verified account is made', true],
    ['an email the operator put on the list in the database', 'operator-listed@example.com', 'a verified account is made', true],
    ['an email on no list', 'outsider@example.com', 'REGISTRATION_CLOSED and nothing is stored', false],
  ])('when %s registers, then %s', async (_name, email, _outcome, allowed) => {
    await t.db.run((m) => t.services.repositories.whitelist.add(m, { emailNormalized: 'operator-listed@example.com', createdAt: t.clock.now() }));
    const registering = t.services.accounts.register({ email, password: PASSWORD, clientSaltSeed: SEED }, IP);
    if (allowed) await expect(registering).resolves.toEqual({ verified: true });
    else await expect(registering).rejects.toMatchObject({ code: ErrorCode.RegistrationClosed });
    expect(await t.db.run((m) => t.services.repositories.accounts.findByEmail(m, normalizeEmail(email)))).toEqual(allowed ? expect.objectContaining({ verified: true }) : null);
  });
});
