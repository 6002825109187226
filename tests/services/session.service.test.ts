import { loadConfig } from '../../src/config';
import type { SessionService } from '../../src/services/session.service';
import { ErrorCode } from '../../src/errors';
import { DAY_MS } from '../../src/lib/clock';
import { PasswordHasher } from '../../src/lib/password';
import { TEST_ENV } from '../../test-support/test-env';
import { insertAccount, testDialect } from '../../test-support/database';
import { useTestServices } from '../helpers/services-under-test';

/** Tokens and sessions with a clock the test moves: expiry, the lastUsedAt refresh, revocation events. */
describe(`SessionService on ${testDialect()}`, () => {
  const TTL_DAYS = 14;
  const t = useTestServices({ TOKEN_TTL_DAYS: String(TTL_DAYS), TOKEN_MAX_AGE_DAYS: '365' });
  const hasher = new PasswordHasher(loadConfig(TEST_ENV).passwordHashing);
  const { clock } = t;
  let sessions: SessionService;
  beforeEach(() => {
    sessions = t.services.sessions;
  });

  async function newAccount(password = 'correct horse', verified = true) {
    const { id, email } = await insertAccount(t.db, { email: `Session-${Math.random().toString(36).slice(2)}@Example.com`, passwordHash: await hasher.hash(password), verified });
    return { id, email, password };
  }

  it('when a device logs in, then its token authenticates as that account and device and expires TOKEN_TTL_DAYS later', async () => {
    const account = await newAccount();
    const issued = await sessions.login({ email: account.email.toUpperCase(), password: account.password, deviceId: 'phone', ip: '127.0.0.1' });
    expect(issued.expiresAt).toEqual(new Date(clock.now().getTime() + TTL_DAYS * DAY_MS));
    expect(await sessions.authenticate(issued.token)).toMatchObject({ accountId: account.id, deviceId: 'phone', expiresAt: issued.expiresAt });
    expect(t.events.log).toEqual([['tokensRevoked', account.id, 'phone']]);
  });

  it('when the clock reaches the expiry unused, then the token is UNAUTHENTICATED; used a millisecond before, it slides TOKEN_TTL_DAYS on', async () => {
    const account = await newAccount();
    const unused = await sessions.login({ email: account.email, password: account.password, deviceId: 'tablet', ip: '127.0.0.1' });
    const used = await sessions.login({ email: account.email, password: account.password, deviceId: 'phone', ip: '127.0.0.1' });
    clock.advance(TTL_DAYS * DAY_MS - 1);
    await expect(sessions.authenticate(used.token)).resolves.toMatchObject({ accountId: account.id, expiresAt: new Date(clock.now().getTime() + TTL_DAYS * DAY_MS) });
    clock.advance(1);
    await expect(sessions.authenticate(unused.token)).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
    await expect(sessions.authenticate(used.token)).resolves.toMatchObject({ accountId: account.id });
  });

  it('when a token is used, then lastUsedAt moves only once a minute has passed', async () => {
    const account = await newAccount();
    const loggedInAt = clock.now();
    const issued = await sessions.login({ email: account.email, password: account.password, deviceId: 'phone', ip: '127.0.0.1' });
    const lastUsed = async () => (await sessions.devices(account.id))[0].lastUsedAt;
    clock.advance(59_999);
    await sessions.authenticate(issued.token);
    expect(await lastUsed()).toEqual(loggedInAt);
    clock.advance(1);
    await sessions.authenticate(issued.token);
    expect(await lastUsed()).toEqual(clock.now());
  });

  it.each([
    ['a wrong password', 'correct horse', 'wrong horse', true, ErrorCode.Unauthenticated],
    ['an unknown email', null, 'correct horse', true, ErrorCode.Unauthenticated],
    ['an unverified account with the right password', 'correct horse', 'correct horse', false, ErrorCode.AccountNotVerified],
  ])('when logging in with %s, then %s and no token is issued', async (_name, stored, given, verified, code) => {
    const account = stored ? await newAccount(stored, verified) : { id: 0, email: 'nobody@example.com' };
    await expect(sessions.login({ email: account.email, password: given, deviceId: 'phone', ip: '127.0.0.1' })).rejects.toMatchObject({ code: code });
    if (account.id) expect(await sessions.devices(account.id)).toEqual([]);
    expect(t.events.log).toEqual([]);
  });

  it('when a device is revoked, then its token stops working, the others stay, and the revocation is announced', async () => {
    const account = await newAccount();
    const phone = await sessions.login({ email: account.email, password: account.password, deviceId: 'phone', ip: '127.0.0.1' });
    const laptop = await sessions.login({ email: account.email, password: account.password, deviceId: 'laptop', ip: '127.0.0.1' });
    const session = await sessions.authenticate(laptop.token);
    expect(await sessions.revokeDevice(session, 'phone')).toBe(true);
    expect(await sessions.revokeDevice(session, 'phone')).toBe(false);
    await expect(sessions.authenticate(phone.token)).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
    await expect(sessions.authenticate(laptop.token)).resolves.toMatchObject({ deviceId: 'laptop' });
    expect(t.events.log.at(-1)).toEqual(['tokensRevoked', account.id, 'phone']);
  });
});
