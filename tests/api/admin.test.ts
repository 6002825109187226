import { AuthTokenEntity } from '../../src/db/entities/auth-token.entity';
import { admin } from '../helpers/admin';
import { errorCode } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { testDialect } from '../../test-support/database';
import { login, newSeed, register, registerAndLogin, uniqueEmail, upload } from '../../test-support/operations';
import { MeDocument, RegisterDocument, WalletStateDocument } from '../../test-support/operations.generated';

/** wallet-sync-admin against a real server's database (SQLite or, in the MariaDB pass, MariaDB). */
describe(`wallet-sync-admin on ${testDialect()}`, () => {
  let server: TestServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startTestServer();
    env = { DATABASE_URL: server.database.url };
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each([
    ['no command', 2, 'USAGE', []],
    ['an unknown command', 2, 'USAGE', ['bogus']],
    ['an unknown option', 2, 'USAGE', ['stats', '--nope']],
    ['a limit out of range', 2, 'USAGE', ['accounts', 'list', '--limit', '0']],
    ['accounts show without an email', 2, 'USAGE', ['accounts', 'show']],
    ['accounts show of an unknown email', 3, 'NOT_FOUND', ['accounts', 'show', 'nobody@example.com']],
    ['accounts delete of an unknown email', 3, 'NOT_FOUND', ['accounts', 'delete', 'nobody@example.com', '--yes']],
    ['tokens revoke of an unknown email', 3, 'NOT_FOUND', ['tokens', 'revoke', 'nobody@example.com']],
    ['whitelist remove of an email not on the list', 3, 'NOT_FOUND', ['whitelist', 'remove', 'nobody@example.com']],
    ['migrate-to a URL that is no database URL', 2, 'USAGE', ['migrate-to', 'http://x']],
  ])('when run with %s, then it exits %i (%s) and says why', async (_what, exitCode, code, argv) => {
    const run = await admin(env, ...(argv as string[]), '--json');
    expect(run.code).toBe(exitCode);
    if (code) expect(run.json.error.code).toBe(code);
    expect(run.stderr).toMatch(/wallet-sync-admin/);
  });

  it('when the configuration is invalid, then it exits 2 naming the variable, as the server would refuse to start', async () => {
    const run = await admin({ DATABASE_URL: 'ftp://nope' }, 'stats');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('DATABASE_URL');
  });

  it('when accounts exist, then list, --pending, --limit, show and stats report them', async () => {
    const a = await registerAndLogin(server, 'laptop');
    await upload(server, a, 1, 'x'.repeat(100));
    const b = await register(server);

    const list = await admin(env, 'accounts', 'list', '--json');
    expect(list.code).toBe(0);
    const emails = list.json.accounts.map((row: { email: string }) => row.email);
    expect(emails.indexOf(b.email)).toBeLessThan(emails.indexOf(a.email)); // newest first
    expect(list.json.accounts.find((row: { email: string }) => row.email === a.email)).toMatchObject({ verified: true, devices: 1, walletSequence: 1 });

    const limited = await admin(env, 'accounts', 'list', '--limit', '1', '--json');
    expect(limited.json.accounts.map((row: { email: string }) => row.email)).toEqual([b.email]);
    const pending = await admin(env, 'accounts', 'list', '--pending', '--json');
    expect(pending.json.accounts).toEqual([]); // AllowAll: every account starts verified

    const show = await admin(env, 'accounts', 'show', a.email.toUpperCase(), '--json');
    expect(show.code).toBe(0);
    expect(show.json.account).toMatchObject({ email: a.email, verified: true, wallet: { sequence: 1, bytes: 100, historyVersions: 1, historyWithContent: 1 } });
    expect(show.json.account.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(['laptop']);
    const text = await admin(env, 'accounts', 'show', a.email);
    expect(text.stdout).toContain('sequence 1, 100 bytes');

    const stats = await admin(env, 'stats', '--json');
    expect(stats.json.stats).toMatchObject({ accounts: 2, pendingAccounts: 0, devices: 1, wallets: 1, walletBytes: 100, historyRows: 1 });
  });

  it('when a stored deviceId holds terminal escapes (a row from before the edge refused them), then accounts show prints them escaped, in text and in --json', async () => {
    const device = await registerAndLogin(server, 'laptop');
    const hostile = 'evil\u001b]52;c;ZWNobyBoaQ==\u0007\u001b[2J\u009b0m\u202e\nforged line';
    await server.app.db.dataSource.getRepository(AuthTokenEntity).update({ deviceId: 'laptop' }, { deviceId: hostile });
    const text = await admin(env, 'accounts', 'show', device.email);
    expect(text.code).toBe(0);
    expect(text.stdout).not.toMatch(/[\u0007\u001b\u009b\u202e]/);
    expect(text.stdout).toContain('evil\\x1b]52;c;ZWNobyBoaQ==\\x07\\x1b[2J\\x9b0m\\u202e\\x0aforged line\tlast used');
    expect(text.stdout.split('\n').filter((line) => line.startsWith('forged'))).toEqual([]);
    const json = await admin(env, 'accounts', 'show', device.email, '--json');
    expect(json.stdout).not.toMatch(/[\u0007\u001b\u007f-\u009f\u202e]/);
    expect(json.json.account.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual([hostile]);
  });

  it('when accounts delete runs without --yes and no terminal, then it refuses (exit 4) and the account stays', async () => {
    const device = await registerAndLogin(server);
    const run = await admin(env, 'accounts', 'delete', device.email, '--json');
    expect(run.code).toBe(4);
    expect(run.json.error.code).toBe('NOT_CONFIRMED');
    expect((await server.gql(MeDocument, {}, device.token)).body.data!.me.email).toBe(device.email);
  });

  it('when accounts delete --yes runs, then the account, its wallet and its tokens are gone', async () => {
    const device = await registerAndLogin(server);
    await upload(server, device, 1);
    const run = await admin(env, 'accounts', 'delete', device.email, '--yes', '--json');
    expect(run.code).toBe(0);
    expect(run.json.deleted.email).toBe(device.email);
    expect(errorCode(await server.gql(WalletStateDocument, {}, device.token))).toBe('UNAUTHENTICATED');
    expect((await admin(env, 'accounts', 'show', device.email)).code).toBe(3);
  });

  it('when tokens revoke --device runs, then that device is logged out and the others are not', async () => {
    const laptop = await registerAndLogin(server, 'laptop');
    const phone = await login(server, laptop.email, laptop.password, 'phone');
    const unknown = await admin(env, 'tokens', 'revoke', laptop.email, '--device', 'tablet', '--json');
    expect(unknown.code).toBe(3);
    const run = await admin(env, 'tokens', 'revoke', laptop.email, '--device', 'phone', '--json');
    expect(run.code).toBe(0);
    expect(run.json.revoked).toBe(1);
    expect(errorCode(await server.gql(MeDocument, {}, phone.token))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(MeDocument, {}, laptop.token))).toBeUndefined();
    const all = await admin(env, 'tokens', 'revoke', laptop.email);
    expect(all.stdout).toContain(`revoked 1 token of ${laptop.email}`);
    // Without Redis the running servers hear nothing at once: the note says when their live connections close.
    expect(all.stdout).toContain('close at their next token check (every WS_TOKEN_RECHECK_SECONDS');
    expect(all.stdout).not.toContain('until they reconnect');
    expect(errorCode(await server.gql(MeDocument, {}, laptop.token))).toBe('UNAUTHENTICATED');
  });

  it('when tokens have expired, then purge removes them now and says how many', async () => {
    const device = await registerAndLogin(server, 'expiring');
    await server.app.db.run(async (m) => {
      const rows = await m.findBy(AuthTokenEntity, { deviceId: 'expiring' });
      for (const row of rows) await m.update(AuthTokenEntity, { id: row.id }, { expiresAt: new Date(Date.now() - 1000) });
    });
    expect(errorCode(await server.gql(MeDocument, {}, device.token))).toBe('UNAUTHENTICATED');
    const run = await admin(env, 'purge', '--json');
    expect(run.code).toBe(0);
    expect(run.json.purged.authTokens).toBeGreaterThanOrEqual(1);
    expect((await admin(env, 'purge', '--json')).json.purged.authTokens).toBe(0);
  });
});

describe(`the database whitelist on ${testDialect()}`, () => {
  let server: TestServer;
  let env: Record<string, string>;
  const listed = uniqueEmail('listed');

  beforeAll(async () => {
    server = await startTestServer({ ACCOUNT_VERIFICATION_MODE: 'Whitelist', ACCOUNT_WHITELIST: listed });
    env = { DATABASE_URL: server.database.url };
  });
  afterAll(async () => {
    await server?.close();
  });

  const registerAs = (email: string) => server.gql(RegisterDocument, { input: { email, password: 'a long enough password', clientSaltSeed: newSeed() } });

  it('when an email is added, then it may register at once; when removed, then it may not; ACCOUNT_WHITELIST still counts', async () => {
    const email = uniqueEmail('added');
    expect(errorCode(await registerAs(email))).toBe('REGISTRATION_CLOSED');

    const added = await admin(env, 'whitelist', 'add', email.toUpperCase(), '--json');
    expect(added.code).toBe(0);
    expect(added.json.added).toEqual([email]);
    expect((await admin(env, 'whitelist', 'add', email, '--json')).json.added).toEqual([]); // twice: no error, nothing new
    expect((await admin(env, 'whitelist', 'list', '--json')).json.entries.map((e: { emailNormalized: string }) => e.emailNormalized)).toContain(email);
    expect(errorCode(await registerAs(email))).toBeUndefined();

    const other = uniqueEmail('removed');
    await admin(env, 'whitelist', 'add', other);
    const removed = await admin(env, 'whitelist', 'remove', other, '--json');
    expect(removed.json.removed).toEqual([other]);
    expect(errorCode(await registerAs(other))).toBe('REGISTRATION_CLOSED');
    expect(errorCode(await registerAs(listed))).toBeUndefined();
  });
});
