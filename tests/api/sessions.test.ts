import { createHash } from 'node:crypto';
import { createApp } from '../../src/app';
import { AuthTokenRepository } from '../../src/db/repositories/auth-token.repository';
import { loadConfig } from '../../src/config';
import { PasswordHasher } from '../../src/lib/password';
import { TEST_ENV } from '../../test-support/test-env';
import { errorCode } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { useTestServer } from '../helpers/hooks';
import { ManualClock } from '../helpers/clock';
import { login, register, uniqueEmail } from '../../test-support/operations';
import { LoginDocument, MeDocument, SeedDocument, WalletStateDocument } from '../../test-support/operations.generated';
import pino from 'pino';

const DAY = 24 * 60 * 60 * 1000;

describe('auth tokens and devices', () => {
  let server: TestServer;
  const clock = new ManualClock();
  const hashing: string[] = [];

  beforeAll(async () => {
    const config = loadConfig({ ...TEST_ENV });
    server = await startTestServer({}, { clock, hasher: new PasswordHasher(config.passwordHashing, (_s, kind) => hashing.push(kind)) });
  });
  afterAll(() => server.close());

  const works = async (token: string) => !(await server.gql(WalletStateDocument, {}, token)).body.errors;

  it('when a device logs in again, then its new token replaces the old one and other devices are untouched', async () => {
    const account = await register(server);
    const laptop = await login(server, account.email, account.password, 'laptop');
    const phone = await login(server, account.email, account.password, 'phone');
    const laptopAgain = await login(server, account.email.toUpperCase(), account.password, 'laptop');
    expect(await works(laptop.token)).toBe(false);
    expect(await works(laptopAgain.token)).toBe(true);
    expect(await works(phone.token)).toBe(true);
    const me = await server.gql(MeDocument, {}, phone.token);
    expect(me.body.data!.me.email).toBe(account.email);
    expect(me.body.data!.me.devices.map((d: { deviceId: string }) => d.deviceId).sort()).toEqual(['laptop', 'phone']);
  });

  it('when a token is issued, then its expiresAt is TOKEN_TTL_DAYS later, and unused for that long it is refused', async () => {
    const account = await register(server);
    const issued = await server.gql(LoginDocument, { input: { email: account.email, password: account.password, deviceId: 'd' } });
    const { token, expiresAt } = issued.body.data!.login;
    expect(new Date(expiresAt).getTime()).toBe(clock.now().getTime() + 14 * DAY);
    clock.advance(14 * DAY);
    expect(errorCode(await server.gql(WalletStateDocument, {}, token))).toBe('UNAUTHENTICATED');
  });

  it('when a token is used, then it expires TOKEN_TTL_DAYS after that use (sliding), as me.devices shows', async () => {
    const account = await register(server);
    const device = await login(server, account.email, account.password, 'd');
    for (let i = 0; i < 3; i += 1) {
      clock.advance(13 * DAY);
      expect(await works(device.token)).toBe(true);
    }
    const usedAt = clock.now().getTime();
    const me = await server.gql(MeDocument, {}, device.token);
    expect(new Date(me.body.data!.me.devices[0].expiresAt).getTime()).toBe(usedAt + 14 * DAY);
    clock.advance(14 * DAY - 1);
    expect(await works(device.token)).toBe(true);
    clock.advance(14 * DAY);
    expect(errorCode(await server.gql(WalletStateDocument, {}, device.token))).toBe('UNAUTHENTICATED');
  });

  it('when a token is used within a minute of its last use, then its expiry does not move (no write on that request)', async () => {
    const account = await register(server);
    const device = await login(server, account.email, account.password, 'd');
    clock.advance(2 * 60_000);
    expect(await works(device.token)).toBe(true);
    const touchedExpiry = clock.now().getTime() + 14 * DAY;
    clock.advance(30_000);
    const me = await server.gql(MeDocument, {}, device.token);
    expect(new Date(me.body.data!.me.devices[0].expiresAt).getTime()).toBe(touchedExpiry);
  });

  it('when the service authenticates a token after a minute, then the session carries the slid expiry and the database holds it', async () => {
    const account = await register(server);
    const device = await login(server, account.email, account.password, 'd');
    clock.advance(3 * DAY);
    const session = await server.app.services.sessions.authenticate(device.token);
    expect(session.expiresAt.getTime()).toBe(clock.now().getTime() + 14 * DAY);
    const stored = await server.app.db.run((m) => new AuthTokenRepository().findByHash(m, createHash('sha256').update(device.token).digest('hex')));
    expect(stored).toMatchObject({ expiresAt: session.expiresAt, lastUsedAt: clock.now() });
  });

  it('when requests come often, then lastUsedAt is written at most once a minute', async () => {
    const account = await register(server);
    const device = await login(server, account.email, account.password, 'd');
    const loggedInAt = clock.now().toISOString();
    const lastUsed = async () => (await server.gql(MeDocument, {}, device.token)).body.data!.me.devices[0].lastUsedAt;
    clock.advance(30_000);
    expect(await lastUsed()).toBe(loggedInAt);
    clock.advance(31_000);
    const touchedAt = clock.now().toISOString();
    expect(await lastUsed()).toBe(touchedAt);
    clock.advance(10_000);
    expect(await lastUsed()).toBe(touchedAt);
  });

  it('when a device is revoked, then its token stops working; an unknown device answers false', async () => {
    const account = await register(server);
    const a = await login(server, account.email, account.password, 'a');
    const b = await login(server, account.email, account.password, 'b');
    const revoke = await server.gql('mutation($d: String!) { revokeDevice(deviceId: $d) }', { d: 'b' }, a.token);
    expect(revoke.body.data!.revokeDevice).toBe(true);
    expect(await works(b.token)).toBe(false);
    expect(await works(a.token)).toBe(true);
    const unknown = await server.gql('mutation($d: String!) { revokeDevice(deviceId: $d) }', { d: 'nope' }, a.token);
    expect(unknown.body.data!.revokeDevice).toBe(false);
  });

  it('when a device logs out, then only its token stops working', async () => {
    const account = await register(server);
    const a = await login(server, account.email, account.password, 'a');
    const b = await login(server, account.email, account.password, 'b');
    expect((await server.gql('mutation { logout }', {}, a.token)).body.data!.logout).toBe(true);
    expect(await works(a.token)).toBe(false);
    expect(await works(b.token)).toBe(true);
    expect(errorCode(await server.gql('mutation { logout }', {}, a.token))).toBe('UNAUTHENTICATED');
  });

  it('when tokens and passwords are stored, then only a SHA-256 of the token and an argon2id hash of the password are kept', async () => {
    const account = await register(server);
    const device = await login(server, account.email, account.password, 'd');
    const tokens = await server.app.db.dataSource.query('SELECT * FROM auth_tokens');
    const accounts = await server.app.db.dataSource.query('SELECT * FROM accounts');
    expect(JSON.stringify(tokens)).not.toContain(device.token);
    expect(tokens.map((t: { token_hash: string }) => t.token_hash)).toContain(createHash('sha256').update(device.token).digest('hex'));
    const row = accounts.find((a: { email: string }) => a.email === account.email);
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=1024,p=1,t=1\$/);
    expect(JSON.stringify(accounts)).not.toContain(account.password);
  });

  it('when the email is unknown, then login still pays one argon2 verification, like a wrong password', async () => {
    const account = await register(server);
    hashing.length = 0;
    await server.gql(LoginDocument, { input: { email: uniqueEmail('ghost'), password: 'whatever1', deviceId: 'd' } });
    expect(hashing).toEqual(['verify']);
    hashing.length = 0;
    await server.gql(LoginDocument, { input: { email: account.email, password: 'whatever1', deviceId: 'd' } });
    expect(hashing).toEqual(['verify']);
  });
});

describe('client salt seeds', () => {
  const server = useTestServer();

  const seedOf = async (email: string) => (await server.gql(SeedDocument, { email })).body.data!.clientSaltSeed as string;

  it('when the account exists, then its seed comes back lower-cased, whatever the email\'s letter case', async () => {
    const seed = 'AB'.repeat(32);
    const account = await register(server, uniqueEmail('Mixed'), undefined, seed);
    expect(await seedOf(account.email.toUpperCase())).toBe(seed.toLowerCase());
  });

  it('when the email is unknown, then a decoy: 64 lower-case hex, stable per email, different between emails', async () => {
    const email = uniqueEmail('nobody');
    const decoy = await seedOf(email);
    expect(decoy).toMatch(/^[0-9a-f]{64}$/);
    expect(await seedOf(email)).toBe(decoy);
    expect(await seedOf(email.toUpperCase())).toBe(decoy);
    expect(await seedOf(uniqueEmail('nobody'))).not.toBe(decoy);
  });

  it('when the server restarts on the same database, then decoys stay the same (the secret is kept)', async () => {
    const email = uniqueEmail('nobody');
    const before = await seedOf(email);
    const again = await createApp(loadConfig({ ...TEST_ENV, DATABASE_URL: server.database.url }), { logger: pino({ level: 'silent' }) });
    try {
      expect(await again.services.accounts.clientSaltSeed(email, '127.0.0.1')).toBe(before);
    } finally {
      await again.close();
    }
  });

  it('when SERVER_SECRET is set, then decoys come from it', async () => {
    const email = uniqueEmail('nobody');
    const secretApp = await createApp(loadConfig({ ...TEST_ENV, DATABASE_URL: server.database.url, SERVER_SECRET: 's'.repeat(40) }), {
      logger: pino({ level: 'silent' }),
    });
    try {
      expect(await secretApp.services.accounts.clientSaltSeed(email, '127.0.0.1')).not.toBe(await seedOf(email));
    } finally {
      await secretApp.close();
    }
  });
});

describe('auth tokens: the absolute cap TOKEN_MAX_AGE_DAYS', () => {
  let server: TestServer;
  const clock = new ManualClock();

  beforeAll(async () => {
    server = await startTestServer({ TOKEN_TTL_DAYS: '14', TOKEN_MAX_AGE_DAYS: '30' }, { clock });
  });
  afterAll(() => server.close());

  const works = async (token: string) => !(await server.gql(WalletStateDocument, {}, token)).body.errors;

  it('when a token is used every 10 days, then it still stops TOKEN_MAX_AGE_DAYS after its login', async () => {
    const account = await register(server);
    const device = await login(server, account.email, account.password, 'd');
    clock.advance(10 * DAY);
    expect(await works(device.token)).toBe(true);
    clock.advance(10 * DAY);
    expect(await works(device.token)).toBe(true);
    // Used on day 20: sliding alone would allow day 34, the cap ends it on day 30.
    const me = await server.gql(MeDocument, {}, device.token);
    expect(me.body.data!.me.devices[0].expiresAt).toBe(new Date(clock.now().getTime() + 10 * DAY).toISOString());
    clock.advance(10 * DAY - 1);
    expect(await works(device.token)).toBe(true);
    clock.advance(1);
    expect(errorCode(await server.gql(WalletStateDocument, {}, device.token))).toBe('UNAUTHENTICATED');
  });

  it('when the device logs in again, then the new token\'s cap counts from that login', async () => {
    const account = await register(server);
    await login(server, account.email, account.password, 'd');
    clock.advance(25 * DAY);
    const again = await login(server, account.email, account.password, 'd');
    clock.advance(10 * DAY);
    expect(await works(again.token)).toBe(true);
    clock.advance(10 * DAY);
    expect(await works(again.token)).toBe(true);
  });

  it('when TOKEN_MAX_AGE_DAYS is shorter than TOKEN_TTL_DAYS, then a fresh token\'s expiresAt is the cap', async () => {
    const short = await startTestServer({ TOKEN_TTL_DAYS: '14', TOKEN_MAX_AGE_DAYS: '3' }, { clock });
    try {
      const account = await register(short);
      const issued = await short.gql(LoginDocument, { input: { email: account.email, password: account.password, deviceId: 'd' } });
      expect(new Date(issued.body.data!.login.expiresAt).getTime()).toBe(clock.now().getTime() + 3 * DAY);
    } finally {
      await short.close();
    }
  });
});
