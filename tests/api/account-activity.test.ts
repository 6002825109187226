import { errorCode, postGraphQL, type Operation } from '../../test-support/graphql-http';
import { type TestServer } from '../helpers/app';
import { useTestServer } from '../helpers/hooks';
import { ManualClock } from '../helpers/clock';
import { PASSWORD, login, newSeed, register, registerAndLogin, upload, type Device } from '../../test-support/operations';
import { AccountActivityDocument, ChangePasswordDocument, LoginDocument, LogoutDocument, RevokeDocument } from '../../test-support/operations.generated';

interface Event {
  at: string;
  kind: string;
  deviceId: string | null;
  newDevice: boolean | null;
  sequence: number | null;
  ipPrefix: string | null;
  loginMethod: string | null;
  method: string | null;
}
const DAY = 24 * 60 * 60 * 1000;

/** A POST as a client behind a proxy that sets X-Forwarded-For. */
const gqlFrom = <TData, TVariables>(server: TestServer, forwardedFor: string, operation: Operation<TData, TVariables>, variables: TVariables, token?: string) =>
  postGraphQL(server.url, operation, variables, token, { 'x-forwarded-for': forwardedFor });

async function activity(server: TestServer, device: Device, variables: Record<string, unknown> = {}): Promise<Event[]> {
  const response = await server.gql(AccountActivityDocument, variables, device.token);
  if (response.body.errors) throw new Error(JSON.stringify(response.body.errors));
  return response.body.data!.accountActivity;
}

/** Failed logins are logged in the background (so they take no longer than an unknown email's): wait for it. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the account security log over HTTP', () => {
  const clock = new ManualClock(new Date('2026-11-01T12:00:00.000Z'));
  const server = useTestServer({ TRUST_PROXY: 'on', ACCOUNT_VERIFICATION_MODE: 'AllowAll', ACTIVITY_RETENTION_DAYS: '30' }, { clock });

  const tick = () => clock.advance(1000);

  it('when an account lives, then every kind is logged newest first, with device, sequence and the network prefix only', async () => {
    const { email, password } = await register(server);
    tick();
    const phone = await login(server, email, password, 'phone');
    tick();
    const laptopLogin = await gqlFrom(server, '198.51.100.23', LoginDocument, { input: { email, password, deviceId: 'laptop' } });
    expect(laptopLogin.body.data!.login.deviceId).toBe('laptop');
    tick();
    await gqlFrom(server, '2001:db8:abcd:12::7', `mutation ($input: WalletStateInput!) { updateWalletState(input: $input) { __typename } }`, { input: { encryptedWallet: 'w1', sequence: 1, hmac: 'h1' } }, phone.token);
    tick();
    expect(errorCode(await server.gql(LoginDocument, { input: { email, password: 'wrong password!', deviceId: 'thief' } }))).toBe('UNAUTHENTICATED');
    await eventually(() => activity(server, phone), (events) => events.some((e) => e.kind === 'LOGIN_FAILED'));
    tick();
    const phoneAgain = await login(server, email, password, 'phone');
    tick();
    expect((await server.gql(RevokeDocument, { deviceId: 'laptop' }, phoneAgain.token)).body.data!.revokeDevice).toBe(true);
    tick();
    const phone2 = await login(server, email, password, 'phone');
    expect((await server.gql(LogoutDocument, {}, phone2.token)).body.data!.logout).toBe(true);
    tick();
    const changed = await server.gql(ChangePasswordDocument, {
      input: { email, oldPassword: password, newPassword: 'another password', clientSaltSeed: newSeed(), wallet: { encryptedWallet: 'w2', sequence: 2, hmac: 'h2' } },
    });
    expect(changed.body.data!.changePassword.__typename).toBe('ChangePasswordSuccess');
    tick();
    const reader = await login(server, email, 'another password', 'phone');

    const events = await activity(server, reader);
    expect(events.map(({ kind, deviceId, newDevice, sequence, ipPrefix }) => ({ kind, deviceId, newDevice, sequence, ipPrefix }))).toEqual([
      { kind: 'LOGIN', deviceId: 'phone', newDevice: false, sequence: null, ipPrefix: '127.0.0.0/24' },
      { kind: 'PASSWORD_CHANGED', deviceId: null, newDevice: null, sequence: null, ipPrefix: '127.0.0.0/24' },
      { kind: 'WALLET_UPDATED', deviceId: null, newDevice: null, sequence: 2, ipPrefix: '127.0.0.0/24' },
      { kind: 'LOGOUT', deviceId: 'phone', newDevice: null, sequence: null, ipPrefix: '127.0.0.0/24' },
      { kind: 'LOGIN', deviceId: 'phone', newDevice: false, sequence: null, ipPrefix: '127.0.0.0/24' },
      { kind: 'DEVICE_REVOKED', deviceId: 'laptop', newDevice: null, sequence: null, ipPrefix: '127.0.0.0/24' },
      { kind: 'LOGIN', deviceId: 'phone', newDevice: false, sequence: null, ipPrefix: '127.0.0.0/24' },
      { kind: 'LOGIN_FAILED', deviceId: null, newDevice: null, sequence: null, ipPrefix: '127.0.0.0/24' },
      { kind: 'WALLET_UPDATED', deviceId: 'phone', newDevice: null, sequence: 1, ipPrefix: '2001:db8:abcd::/48' },
      { kind: 'LOGIN', deviceId: 'laptop', newDevice: true, sequence: null, ipPrefix: '198.51.100.0/24' },
      { kind: 'LOGIN', deviceId: 'phone', newDevice: true, sequence: null, ipPrefix: '127.0.0.0/24' },
      { kind: 'REGISTERED', deviceId: null, newDevice: null, sequence: null, ipPrefix: '127.0.0.0/24' },
    ]);
    // Protocol 3: a login says how it signed in (by password alone here); no event of this account names a second-factor method.
    expect(events.filter((e) => e.kind === 'LOGIN').map((e) => e.loginMethod)).toEqual(Array(5).fill('PASSWORD'));
    expect(events.filter((e) => e.kind !== 'LOGIN').every((e) => e.loginMethod === null && e.method === null)).toBe(true);
    const times = events.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(JSON.stringify(events)).not.toContain('198.51.100.23');
    expect(JSON.stringify(events)).not.toContain('abcd:12');
  });

  it('when paging with limit and before, then each page is the next older events, at most limit', async () => {
    const { email, password } = await register(server);
    const devices: Device[] = [];
    for (let i = 0; i < 5; i += 1) {
      tick();
      devices.push(await login(server, email, password, `device-${i}`));
    }
    const reader = devices[4];
    const first = await activity(server, reader, { limit: 2 });
    expect(first.map((e) => e.deviceId)).toEqual(['device-4', 'device-3']);
    const second = await activity(server, reader, { limit: 2, before: first[1].at });
    expect(second.map((e) => e.deviceId)).toEqual(['device-2', 'device-1']);
    const rest = await activity(server, reader, { limit: 500, before: second[1].at });
    expect(rest.map((e) => e.kind)).toEqual(['LOGIN', 'REGISTERED']);
    expect(await activity(server, reader, { before: '2000-01-01T00:00:00.000Z' })).toEqual([]);
  });

  it('when events share a millisecond, then paging with before = the last event\'s at returns every event once, in order (an (at, id) cursor)', async () => {
    // The clock does not move: registration and seven logins share one millisecond; then three more share the next.
    const { email, password } = await register(server);
    for (let i = 0; i < 7; i += 1) await login(server, email, password, `same-ms-${i}`);
    clock.advance(1);
    for (let i = 7; i < 10; i += 1) await login(server, email, password, `same-ms-${i}`);
    const reader = await login(server, email, password, 'same-ms-9');
    const everything = await activity(server, reader, { limit: 500 });
    expect(everything.map((e) => e.deviceId)).toEqual(['same-ms-9', ...Array.from({ length: 10 }, (_, i) => `same-ms-${9 - i}`), null]);

    for (const limit of [1, 2, 3, 5]) {
      const paged: Event[] = [];
      let before: string | undefined;
      for (let page = 0; page < 20; page += 1) {
        const events = await activity(server, reader, { limit, ...(before ? { before } : {}) });
        expect(events.length).toBeLessThanOrEqual(limit);
        if (events.length === 0) break;
        paged.push(...events);
        before = events[events.length - 1].at;
      }
      expect(paged).toEqual(everything);
    }
    // Every at still reads as the millisecond it happened in.
    expect(new Set(everything.map((e) => new Date(e.at).toISOString()))).toEqual(new Set([clock.now().toISOString(), new Date(clock.now().getTime() - 1).toISOString()]));
  });

  it('when before is a plain millisecond, then only events strictly older than it come (as before the cursor)', async () => {
    const { email, password } = await register(server);
    const reader = await login(server, email, password, 'plain');
    tick();
    await login(server, email, password, 'later');
    const older = await activity(server, reader, { limit: 500, before: clock.now().toISOString() });
    expect(older.map((e) => e.deviceId)).toEqual(['plain', null]);
    expect(await activity(server, reader, { limit: 500, before: new Date(clock.now().getTime() - 1000).toISOString() })).toEqual([]);
  });

  it('when another account reads its log, then it sees none of this account\'s events (cross-account isolation)', async () => {
    const alice = await registerAndLogin(server, 'alice-phone');
    await upload(server, alice, 1);
    const bob = await registerAndLogin(server, 'bob-phone');
    const bobs = await activity(server, bob, { limit: 500 });
    expect(bobs.map((e) => e.kind)).toEqual(['LOGIN', 'REGISTERED']);
    expect(bobs.every((e) => e.deviceId === null || e.deviceId === 'bob-phone')).toBe(true);
  });

  it('when a password change loses its wallet race, then it is rolled back whole: no PASSWORD_CHANGED, no WALLET_UPDATED', async () => {
    const device = await registerAndLogin(server);
    await upload(server, device, 1);
    const response = await server.gql(ChangePasswordDocument, {
      input: { email: device.email, oldPassword: PASSWORD, newPassword: 'another password', clientSaltSeed: newSeed(), wallet: { encryptedWallet: 'x', sequence: 5, hmac: 'h' } },
    });
    expect(response.body.data!.changePassword.__typename).toBe('WalletStateConflict');
    expect((await activity(server, device)).map((e) => e.kind)).toEqual(['WALLET_UPDATED', 'LOGIN', 'REGISTERED']);
  });

  it('when an upload conflicts, then no WALLET_UPDATED is logged for it', async () => {
    const device = await registerAndLogin(server);
    await upload(server, device, 1);
    expect((await upload(server, device, 1, 'stale', 'other')).__typename).toBe('WalletStateConflict');
    expect((await activity(server, device)).filter((e) => e.kind === 'WALLET_UPDATED').map((e) => e.sequence)).toEqual([1]);
  });

  it('when events are older than ACTIVITY_RETENTION_DAYS, then the maintenance job purges them and keeps the rest', async () => {
    const old = await registerAndLogin(server, 'old-device');
    clock.advance(31 * DAY);
    const recent = await login(server, old.email, old.password, 'recent-device');
    await server.app.runMaintenance();
    expect((await activity(server, recent, { limit: 500 })).map((e) => [e.kind, e.deviceId])).toEqual([['LOGIN', 'recent-device']]);
  });

  it.each<[string, string, Record<string, unknown>]>([
    ['limit 0', 'limit', { limit: 0 }],
    ['limit 501', 'limit', { limit: 501 }],
    ['a before that is not a date-time', 'before', { before: 'yesterday' }],
  ])('when accountActivity gets %s, then BAD_USER_INPUT naming %s (never clamped)', async (_case, field, variables) => {
    const device = await registerAndLogin(server);
    const response = await server.gql(AccountActivityDocument, variables, device.token);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(response.body.errors![0].message).toContain(field);
  });

  it('when accountActivity is asked without a token, then UNAUTHENTICATED', async () => {
    expect(errorCode(await server.gql(AccountActivityDocument, {}))).toBe('UNAUTHENTICATED');
  });
});

describe('the security log when TRUST_PROXY is off', () => {
  const server = useTestServer({ TRUST_PROXY: 'off' });

  it('when a client sends X-Forwarded-For, then it is ignored and the socket\'s network is logged', async () => {
    const { email, password } = await register(server);
    const response = await gqlFrom(server, '203.0.113.9', LoginDocument, { input: { email, password, deviceId: 'd' } });
    const device = { email, password, deviceId: 'd', token: response.body.data!.login.token as string };
    expect((await activity(server, device))[0]).toMatchObject({ kind: 'LOGIN', ipPrefix: '127.0.0.0/24' });
  });
});

describe('the security log when it cannot be written', () => {
  const server = useTestServer();

  it('when the log\'s table is gone, then login, upload, logout and password change still succeed (and the wallet is written)', async () => {
    const device = await registerAndLogin(server);
    await server.app.db.run((m) => m.query('DROP TABLE account_events'));
    const again = await login(server, device.email, device.password, 'second-device');
    expect((await upload(server, again, 1, 'still written')).__typename).toBe('WalletStateSuccess');
    expect((await server.gql(LogoutDocument, {}, again.token)).body.data!.logout).toBe(true);
    const changed = await server.gql(ChangePasswordDocument, {
      input: { email: device.email, oldPassword: PASSWORD, newPassword: 'another password', clientSaltSeed: newSeed(), wallet: { encryptedWallet: 'w2', sequence: 2, hmac: 'h2' } },
    });
    expect(changed.body.data!.changePassword.__typename).toBe('ChangePasswordSuccess');
    const fresh = await login(server, device.email, 'another password', 'third-device');
    expect((await server.gql(`{ walletState { sequence encryptedWallet } }`, {}, fresh.token)).body.data!.walletState).toEqual({ sequence: 2, encryptedWallet: 'w2' });
  });
});
