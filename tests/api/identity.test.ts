import { randomBytes } from 'node:crypto';
import { errorCode, postGraphQL, randomIp } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { useTestServer } from '../helpers/hooks';
import { testDialect } from '../../test-support/database';
import { PASSWORD, login, newSeed, register, upload } from '../../test-support/operations';
import { LoginDocument, MeDocument, RegisterDocument, RevokeDocument, SeedDocument, WalletStateDocument } from '../../test-support/operations.generated';
import { subscribedAtSequence1, within, type LiveClient } from '../../test-support/subscriptions';

/**
 * PROTOCOL.md, "Accounts and tokens": an account is identified by its normalized
 * email (NFC, lower-cased) compared byte for byte, and deviceIds compare exactly,
 * on every database. Each case below was reproduced against MariaDB's default
 * collations, which fold accents and ignore some characters.
 */
const tag = () => randomBytes(4).toString('hex');
/** `jöe-…` precomposed (NFC) and decomposed (o + combining diaeresis, NFD): one address, two byte sequences. */
const emails = () => {
  const t = tag();
  return {
    plain: `joe-${t}@example.org`,
    accented: `j\u00f6e-${t}@example.org`,
    accentedNfd: `jo\u0308e-${t}@example.org`,
    zeroWidth: `jo\u200be-${t}@example.org`,
  };
};

describe(`identity: normalized emails and exact deviceIds (${testDialect()})`, () => {
  let server: TestServer;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => server.close());

  const loginCode = async (email: string, password: string) => errorCode(await server.gql(LoginDocument, { input: { email, password, deviceId: 'd' } }));
  const seedOf = async (email: string) => (await server.gql(SeedDocument, { email })).body.data!.clientSaltSeed as string;

  it.each([
    ['an accented variant (jöe for joe)', 'accented'],
    ['a zero-width space inside', 'zeroWidth'],
  ] as const)('when %s of an existing email logs in with its password, then UNAUTHENTICATED', async (_case, variant) => {
    const e = emails();
    await register(server, e.plain);
    expect(await loginCode(e[variant], PASSWORD)).toBe('UNAUTHENTICATED');
    expect(await loginCode(e.plain, PASSWORD)).toBeUndefined();
  });

  it.each([
    ['an accented variant', 'accented'],
    ['a zero-width-space variant', 'zeroWidth'],
  ] as const)('when %s registers beside the plain email, then it is an account of its own with its own password and seed', async (_case, variant) => {
    const e = emails();
    const plain = await register(server, e.plain);
    const other = await register(server, e[variant], 'the other password', newSeed());
    expect(await seedOf(e.plain)).toBe(plain.clientSaltSeed);
    expect(await seedOf(e[variant])).toBe(other.clientSaltSeed);
    expect(await loginCode(e[variant], PASSWORD)).toBe('UNAUTHENTICATED');
    const device = await login(server, e[variant], 'the other password', 'd');
    expect((await server.gql(MeDocument, {}, device.token)).body.data!.me.email).toBe(e[variant]);
  });

  it('when the same address is typed decomposed (NFD) or in another case, then it is the same account', async () => {
    const e = emails();
    const account = await register(server, e.accented);
    expect(await seedOf(e.accentedNfd)).toBe(account.clientSaltSeed);
    expect(await seedOf(e.accentedNfd.toUpperCase())).toBe(account.clientSaltSeed);
    expect(await loginCode(e.accentedNfd.toUpperCase(), PASSWORD)).toBeUndefined();
    const taken = await server.gql(RegisterDocument, { input: { email: e.accentedNfd, password: PASSWORD, clientSaltSeed: newSeed() } });
    expect(errorCode(taken)).toBe('EMAIL_TAKEN');
  });

  it('when clientSaltSeed is asked for an accented variant of an existing email, then it answers a decoy, not the account\'s seed', async () => {
    const e = emails();
    const account = await register(server, e.plain);
    const decoy = await seedOf(e.accented);
    expect(decoy).toMatch(/^[0-9a-f]{64}$/);
    expect(decoy).not.toBe(account.clientSaltSeed);
    // A decoy is stable per normalized email, like a real seed.
    expect(await seedOf(e.accentedNfd)).toBe(decoy);
  });

  it.each([
    ['an email with surrounding spaces', (e: string) => ` ${e} `],
    ['a display name', (e: string) => `Joe <${e}>`],
  ])('when a login or registration carries %s, then BAD_USER_INPUT naming the email', async (_case, mangle) => {
    const e = emails();
    for (const response of [
      await server.gql(RegisterDocument, { input: { email: mangle(e.plain), password: PASSWORD, clientSaltSeed: newSeed() } }),
      await server.gql(LoginDocument, { input: { email: mangle(e.plain), password: PASSWORD, deviceId: 'd' } }),
    ]) {
      expect(errorCode(response)).toBe('BAD_USER_INPUT');
      expect(response.body.errors?.[0].message).toMatch(/email/);
    }
  });

  it('when deviceIds differ only in case, then they are two devices, and revokeDevice("LAPTOP") leaves "laptop" (token and live connection) alone', async () => {
    const account = await register(server);
    const laptop = await login(server, account.email, PASSWORD, 'laptop');
    const upper = await login(server, account.email, PASSWORD, 'LAPTOP');
    const devices = (await server.gql(MeDocument, {}, laptop.token)).body.data!.me.devices.map((d: { deviceId: string }) => d.deviceId).sort();
    expect(devices).toEqual(['LAPTOP', 'laptop']);
    await upload(server, laptop, 1);
    const live = await subscribedAtSequence1(server.url, laptop.token, clients);

    // The upper-case device is revoked: only its own token stops working.
    expect((await server.gql(RevokeDocument, { deviceId: 'LAPTOP' }, laptop.token)).body.data!.revokeDevice).toBe(true);
    expect(errorCode(await server.gql(WalletStateDocument, {}, upper.token))).toBe('UNAUTHENTICATED');
    expect((await server.gql(RevokeDocument, { deviceId: 'LAPTOP' }, laptop.token)).body.data!.revokeDevice).toBe(false);
    expect(errorCode(await server.gql(WalletStateDocument, {}, laptop.token))).toBeUndefined();
    await upload(server, laptop, 2);
    expect(await live.subscription.next()).toBe(2);

    // Revoking the device by its exact id closes both.
    expect((await server.gql(RevokeDocument, { deviceId: 'laptop' }, laptop.token)).body.data!.revokeDevice).toBe(true);
    expect((await within(live.client.closed, 5000, 'laptop close')).code).toBe(4401);
    expect(errorCode(await server.gql(WalletStateDocument, {}, laptop.token))).toBe('UNAUTHENTICATED');
  });
});

describe(`identity: the failed-password lock-out counts under the normalized email (${testDialect()})`, () => {
  const server = useTestServer({ RATE_LIMITS: 'on', TRUST_PROXY: 'on', ACCOUNT_VERIFICATION_MODE: 'AllowAll', RATE_LIMIT_PASSWORD_FAILURES_PER_ACCOUNT: '3/600' });

  const attempt = async (email: string, password: string): Promise<string | undefined> =>
    errorCode(await postGraphQL(server.url, LoginDocument, { input: { email, password, deviceId: 'd' } }, undefined, { 'x-forwarded-for': randomIp() }));

  it.each([
    ['the decomposed (NFD) form', (e: ReturnType<typeof emails>) => e.accentedNfd],
    ['the upper-case form', (e: ReturnType<typeof emails>) => e.accented.toUpperCase()],
  ])('when the failures are typed in %s, then they lock the account, whichever form is typed next', async (_case, variant) => {
    const e = emails();
    await register(server, e.accented);
    for (let i = 0; i < 3; i += 1) expect(await attempt(variant(e), 'wrong password')).toBe('UNAUTHENTICATED');
    expect(await attempt(e.accented, PASSWORD)).toBe('RATE_LIMITED');
    expect(await attempt(variant(e), PASSWORD)).toBe('RATE_LIMITED');
  });

  it('when an accented variant collects failures, then the plain account is not locked', async () => {
    const e = emails();
    await register(server, e.plain);
    for (let i = 0; i < 4; i += 1) await attempt(e.accented, 'wrong password');
    expect(await attempt(e.accented, PASSWORD)).toBe('RATE_LIMITED');
    expect(await attempt(e.plain, PASSWORD)).toBeUndefined();
  });
});
