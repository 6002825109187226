import { errorCode, type GraphQLResponse, postGraphQL, randomIp, type Operation } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { useTestServer } from '../helpers/hooks';
import { PASSWORD, newSeed, uniqueEmail } from '../../test-support/operations';
import { ChangePasswordDocument, LoginDocument, RegisterDocument, SeedDocument } from '../../test-support/operations.generated';

/** Budgets small enough to exhaust in a test; every request comes from its own made-up client IP. */
const LIMITED_ENV = {
  RATE_LIMITS: 'on',
  TRUST_PROXY: 'on',
  // Behind a proxy the server is exposed: a verification mode must be chosen.
  ACCOUNT_VERIFICATION_MODE: 'AllowAll',
  RATE_LIMIT_LOGIN_PER_IP: '6/60',
  RATE_LIMIT_LOGIN_FAILURES_PER_IP: '20/60',
  RATE_LIMIT_PASSWORD_FAILURES_PER_ACCOUNT: '3/1',
  RATE_LIMIT_REGISTER_PER_IP: '2/60',
  RATE_LIMIT_CHANGE_PASSWORD_PER_IP: '2/60',
  RATE_LIMIT_DELETE_ACCOUNT_PER_IP: '2/60',
  RATE_LIMIT_RESEND_VERIFICATION_EMAIL_PER_IP: '2/60',
  RATE_LIMIT_CLIENT_SALT_SEED_PER_IP: '3/60',
};

/** A request from the client at `ip` (the server trusts X-Forwarded-For). */
const from = <TData, TVariables>(server: TestServer, ip: string, operation: Operation<TData, TVariables>, variables: TVariables, token?: string) =>
  postGraphQL(server.url, operation, variables, token, { 'x-forwarded-for': ip });

/** Registers from an address of its own, so set-up never spends the budgets under test. */
async function register(server: TestServer) {
  const email = uniqueEmail();
  await from(server, randomIp(), RegisterDocument, { input: { email, password: PASSWORD, clientSaltSeed: newSeed() } });
  return { email, password: PASSWORD };
}

async function login(server: TestServer, email: string, password: string, deviceId: string) {
  const response = await from(server, randomIp(), LoginDocument, { input: { email, password, deviceId } });
  return { token: response.body.data!.login.token as string };
}

describe('rate limits', () => {
  const server = useTestServer(LIMITED_ENV);

  async function exhaust(budget: number, attempt: (ip: string, i: number) => Promise<{ status: number; headers: Headers; body: GraphQLResponse['body'] }>) {
    const ip = randomIp();
    for (let i = 0; i < budget; i += 1) expect(errorCode((await attempt(ip, i)) as GraphQLResponse)).not.toBe('RATE_LIMITED');
    const refused = await attempt(ip, budget);
    expect(errorCode(refused as GraphQLResponse)).toBe('RATE_LIMITED');
    expect(refused.status).toBe(429);
    const retryAfter = refused.body.errors![0].extensions!.retryAfterSeconds;
    expect(retryAfter).toBeGreaterThan(0);
    expect(refused.headers.get('retry-after')).toBe(String(retryAfter));
    // Another address still has its own budget.
    expect(errorCode((await attempt(randomIp(), budget + 1)) as GraphQLResponse)).not.toBe('RATE_LIMITED');
  }

  it('when one IP registers more than its budget, then RATE_LIMITED with retryAfterSeconds and HTTP 429', async () => {
    await exhaust(2, (ip) => from(server, ip, RegisterDocument, { input: { email: uniqueEmail(), password: PASSWORD, clientSaltSeed: newSeed() } }));
  });

  it('when one IP asks for client salt seeds beyond its budget, then RATE_LIMITED', async () => {
    await exhaust(3, (ip) => from(server, ip, SeedDocument, { email: uniqueEmail() }));
  });

  it('when one IP tries logins beyond its budget, then RATE_LIMITED, even for correct passwords', async () => {
    const account = await register(server);
    await exhaust(6, (ip) => from(server, ip, LoginDocument, { input: { email: account.email, password: account.password, deviceId: 'd' } }));
  });

  it('when one IP tries password changes beyond its budget, then RATE_LIMITED', async () => {
    await exhaust(2, (ip) =>
      from(server, ip, ChangePasswordDocument, { input: { email: uniqueEmail(), oldPassword: 'wrong one', newPassword: 'new password', clientSaltSeed: newSeed() } }),
    );
  });

  it('when one IP asks for verification emails beyond its budget, then RATE_LIMITED', async () => {
    await exhaust(2, (ip) => from(server, ip, 'mutation($e: String!) { resendVerificationEmail(email: $e) }', { e: uniqueEmail() }));
  });

  it('when one IP tries account deletions beyond its budget, then RATE_LIMITED', async () => {
    const account = await register(server);
    const device = await login(server, account.email, account.password, 'd');
    await exhaust(2, (ip) => from(server, ip, 'mutation($p: String!) { deleteAccount(password: $p) }', { p: 'wrong password' }, device.token));
  });

  it('when one request asks through aliases, then each alias counts against the budget', async () => {
    const ip = randomIp();
    const aliases = Array.from({ length: 3 }, (_, i) => `a${i}: clientSaltSeed(email: "${uniqueEmail(`alias${i}`)}")`);
    const response = await from(server, ip, `{ ${aliases.join(' ')} }`, {});
    expect(Object.keys(response.body.data!)).toHaveLength(3);
    // One request, but three of the three allowed: the next one is refused.
    expect(errorCode((await from(server, ip, SeedDocument, { email: uniqueEmail() })) as GraphQLResponse)).toBe('RATE_LIMITED');
  });

  it('when one request carries more aliases than GRAPHQL_MAX_ALIASES, then it is refused before anything runs', async () => {
    const aliases = Array.from({ length: 11 }, (_, i) => `a${i}: serverInfo { apiVersion }`);
    const response = await from(server, randomIp(), `{ ${aliases.join(' ')} }`, {});
    expect(response.status).toBe(400);
    expect(errorCode(response as GraphQLResponse)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('when an account collects failed passwords, then even the right one is refused for a while, for a longer while after each lock-out, never for good', async () => {
    const account = await register(server);
    const attempt = (password: string) => from(server, randomIp(), LoginDocument, { input: { email: account.email, password, deviceId: 'd' } });
    for (let i = 0; i < 3; i += 1) expect(errorCode((await attempt('wrong password')) as GraphQLResponse)).toBe('UNAUTHENTICATED');
    const locked = await attempt(account.password);
    expect(errorCode(locked as GraphQLResponse)).toBe('RATE_LIMITED');
    // The failure that overflows the budget starts a lock-out; a second one lasts twice as long.
    expect(errorCode((await attempt('wrong password')) as GraphQLResponse)).toBe('RATE_LIMITED');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(errorCode((await attempt(account.password)) as GraphQLResponse)).toBeUndefined();
  });

  it('when a correct password follows failures, then the account\'s failure count starts over', async () => {
    const account = await register(server);
    const attempt = (password: string) => from(server, randomIp(), LoginDocument, { input: { email: account.email, password, deviceId: 'd' } });
    await attempt('wrong password');
    await attempt('wrong password');
    expect(errorCode((await attempt(account.password)) as GraphQLResponse)).toBeUndefined();
    await attempt('wrong password');
    await attempt('wrong password');
    expect(errorCode((await attempt(account.password)) as GraphQLResponse)).toBeUndefined();
  });
});

describe('client IP behind a proxy', () => {
  it('when TRUST_PROXY is off, then X-Forwarded-For is ignored and all requests share the socket\'s budget', async () => {
    const server = await startTestServer({ ...LIMITED_ENV, TRUST_PROXY: 'off' });
    try {
      const codes: Array<string | undefined> = [];
      for (let i = 0; i < 4; i += 1) codes.push(errorCode((await from(server, randomIp(), SeedDocument, { email: uniqueEmail() })) as GraphQLResponse));
      expect(codes).toEqual([undefined, undefined, undefined, 'RATE_LIMITED']);
    } finally {
      await server.close();
    }
  });
});

describe('per-IP budgets: an IPv6 client counts by its /64, an IPv4 client by its address', () => {
  let server: TestServer;

  // A real IPv6 bind; the client addresses come through X-Forwarded-For, as from a proxy in front.
  beforeAll(async () => {
    server = await startTestServer({ ...LIMITED_ENV, HOST: '::1' });
  });
  afterAll(() => server.close());

  const seed = async (ip: string) => errorCode((await from(server, ip, SeedDocument, { email: uniqueEmail() })) as GraphQLResponse);

  it.each<[string, string[], Array<string | undefined>]>([
    ['addresses of one IPv6 /64', ['2001:db8:a:1::1', '2001:db8:a:1::2', '2001:db8:a:1:ffff:ffff:ffff:fffe', '2001:db8:a:1:1234::9'], [undefined, undefined, undefined, 'RATE_LIMITED']],
    ['spellings of one IPv4 address', ['203.0.113.9', '::ffff:203.0.113.9', '::FFFF:203.0.113.9', '203.0.113.9'], [undefined, undefined, undefined, 'RATE_LIMITED']],
    ['neighbouring IPv6 /64s', ['2001:db8:b:1::1', '2001:db8:b:2::1', '2001:db8:b:3::1', '2001:db8:b:4::1'], [undefined, undefined, undefined, undefined]],
    ['neighbouring IPv4 addresses', ['203.0.113.21', '203.0.113.22', '203.0.113.23', '203.0.113.24'], [undefined, undefined, undefined, undefined]],
  ])('when a budget of 3 is asked from %s, then the answers are as one client or as many', async (_case, ips, expected) => {
    const answers: Array<string | undefined> = [];
    for (const ip of ips) answers.push(await seed(ip));
    expect(answers).toEqual(expected);
  });

  it('when the socket itself is IPv6 (no proxy), then the /64 of the peer is what counts', async () => {
    const direct = await startTestServer({ ...LIMITED_ENV, HOST: '::1', TRUST_PROXY: 'off' });
    try {
      const answers: Array<string | undefined> = [];
      // X-Forwarded-For is ignored: every request is ::1's.
      for (const ip of ['2001:db8:c:1::1', '2001:db8:c:2::1', '2001:db8:c:3::1', '2001:db8:c:4::1']) {
        answers.push(errorCode((await from(direct, ip, SeedDocument, { email: uniqueEmail() })) as GraphQLResponse));
      }
      expect(answers).toEqual([undefined, undefined, undefined, 'RATE_LIMITED']);
    } finally {
      await direct.close();
    }
  });
});
