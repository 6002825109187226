import { queryRows } from '../../test-support/database';
import { loadConfig } from '../../src/config';
import { WalletRepository } from '../../src/db/repositories/wallet.repository';
import { PasswordHasher } from '../../src/lib/password';
import { TEST_ENV } from '../../test-support/test-env';
import { errorCode } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { useTestServer } from '../helpers/hooks';
import { ManualClock } from '../helpers/clock';
import { login, newSeed, register, upload, type Device } from '../../test-support/operations';
import { ChangePasswordDocument, LoginDocument, SeedDocument, WalletStateDocument, type WalletStateInput } from '../../test-support/operations.generated';

const NEW_PASSWORD = 'the new password';

async function setUp(server: TestServer, withWallet: boolean) {
  const account = await register(server);
  const a = await login(server, account.email, account.password, 'a');
  const b = await login(server, account.email, account.password, 'b');
  if (withWallet) await upload(server, a, 1, 'old-keys-1', 'old-hmac-1');
  return { ...account, a, b };
}

const change = (server: TestServer, email: string, oldPassword: string, wallet?: WalletStateInput | null, clientSaltSeed = newSeed()) =>
  server.gql(ChangePasswordDocument, { input: { email, oldPassword, newPassword: NEW_PASSWORD, clientSaltSeed, wallet } });

async function expectUnchanged(server: TestServer, account: { email: string; password: string; clientSaltSeed: string; a: Device }, wallet: unknown) {
  expect((await server.gql(WalletStateDocument, {}, account.a.token)).body.data!.walletState).toEqual(wallet);
  expect((await server.gql(SeedDocument, { email: account.email })).body.data!.clientSaltSeed).toBe(account.clientSaltSeed);
  expect(errorCode(await server.gql(LoginDocument, { input: { email: account.email, password: NEW_PASSWORD, deviceId: 'x' } }))).toBe('UNAUTHENTICATED');
  expect(errorCode(await server.gql(LoginDocument, { input: { email: account.email, password: account.password, deviceId: 'x' } }))).toBeUndefined();
}

describe('changePassword', () => {
  const server = useTestServer();

  it('when the old password is right and the wallet is at current + 1, then password, seed and wallet change together and every token is revoked', async () => {
    const account = await setUp(server, true);
    const seed = newSeed();
    const response = await change(server, account.email, account.password, { encryptedWallet: 'new-keys-2', sequence: 2, hmac: 'new-hmac-2' }, seed);
    expect(response.body.data!.changePassword).toEqual({
      __typename: 'ChangePasswordSuccess',
      walletState: { encryptedWallet: 'new-keys-2', sequence: 2, hmac: 'new-hmac-2', updatedAt: expect.any(String) },
    });
    for (const device of [account.a, account.b]) expect(errorCode(await server.gql(WalletStateDocument, {}, device.token))).toBe('UNAUTHENTICATED');
    expect((await server.gql(SeedDocument, { email: account.email })).body.data!.clientSaltSeed).toBe(seed);
    const fresh = await login(server, account.email, NEW_PASSWORD, 'c');
    expect((await server.gql(WalletStateDocument, {}, fresh.token)).body.data!.walletState).toMatchObject({ sequence: 2, encryptedWallet: 'new-keys-2' });
  });

  it('when neither side has a wallet, then ChangePasswordSuccess with a null wallet', async () => {
    const account = await setUp(server, false);
    const response = await change(server, account.email, account.password);
    expect(response.body.data!.changePassword).toEqual({ __typename: 'ChangePasswordSuccess', walletState: null });
    expect(errorCode(await server.gql(WalletStateDocument, {}, account.a.token))).toBe('UNAUTHENTICATED');
  });

  it.each<[string, boolean, WalletStateInput | null, number | null]>([
    ['input.wallet is missing while the server has one', true, null, 1],
    ['input.wallet is given while the server has none', false, { encryptedWallet: 'w', sequence: 1, hmac: 'h' }, null],
    ['input.wallet repeats the current sequence', true, { encryptedWallet: 'w', sequence: 1, hmac: 'h' }, 1],
    ['input.wallet skips a sequence', true, { encryptedWallet: 'w', sequence: 3, hmac: 'h' }, 1],
  ])('when %s, then WalletStateConflict with the latest state and nothing changes', async (_name, withWallet, wallet, latestSequence) => {
    const account = await setUp(server, withWallet);
    const before = (await server.gql(WalletStateDocument, {}, account.a.token)).body.data!.walletState;
    const response = await change(server, account.email, account.password, wallet);
    const result = response.body.data!.changePassword;
    if (result.__typename !== 'WalletStateConflict') throw new Error(`expected a conflict, got ${result.__typename}`);
    expect(result.latest?.sequence ?? null).toBe(latestSequence);
    await expectUnchanged(server, account, before);
    expect(errorCode(await server.gql(WalletStateDocument, {}, account.b.token))).toBeUndefined();
  });

  it('when the old password is wrong, then UNAUTHENTICATED and nothing changes', async () => {
    const account = await setUp(server, true);
    const before = (await server.gql(WalletStateDocument, {}, account.a.token)).body.data!.walletState;
    expect(errorCode(await change(server, account.email, 'not the password', { encryptedWallet: 'w', sequence: 2, hmac: 'h' }))).toBe('UNAUTHENTICATED');
    await expectUnchanged(server, account, before);
  });

  it('when a login races a password change, then no token issued with the old password survives the change', async () => {
    for (let round = 0; round < 3; round += 1) {
      const account = await setUp(server, false);
      const logins = Array.from({ length: 12 }, (_, i) =>
        server.gql(LoginDocument, { input: { email: account.email, password: account.password, deviceId: `racer-${i}` } }),
      );
      const changed = await change(server, account.email, account.password);
      expect(changed.body.data!.changePassword.__typename).toBe('ChangePasswordSuccess');
      const tokens = (await Promise.all(logins)).map((r) => r.body.data?.login?.token).filter(Boolean);
      for (const token of tokens) expect(errorCode(await server.gql(WalletStateDocument, {}, token))).toBe('UNAUTHENTICATED');
    }
  });
});

describe('a login overtaken by a password change', () => {
  /** A real hasher that can hold its next verification's answer until the test lets it go. */
  class GatedHasher extends PasswordHasher {
    private held: { reached: () => void; gate: Promise<void> } | undefined;

    holdNextVerify(): { reached: Promise<void>; release: () => void } {
      let release!: () => void;
      let reached!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
      this.held = { reached, gate };
      return { reached: reachedPromise, release };
    }

    override async verify(hash: string, password: string): Promise<boolean> {
      const ok = await super.verify(hash, password);
      const held = this.held;
      this.held = undefined;
      if (held) {
        held.reached();
        await held.gate;
      }
      return ok;
    }
  }
  const hasher = new GatedHasher(loadConfig(TEST_ENV).passwordHashing);
  const server = useTestServer({}, { hasher });

  it('when a login has checked the old password but the change commits before its token is written, then the login fails', async () => {
    const account = await setUp(server, false);
    const { reached, release } = hasher.holdNextVerify();
    const racing = server.gql(LoginDocument, { input: { email: account.email, password: account.password, deviceId: 'late' } });
    await reached;
    const changed = await change(server, account.email, account.password);
    expect(changed.body.data!.changePassword.__typename).toBe('ChangePasswordSuccess');
    release();
    const late = await racing;
    expect(errorCode(late)).toBe('UNAUTHENTICATED');
    expect(await server.app.db.dataSource.query("SELECT id FROM auth_tokens WHERE device_id = 'late'")).toEqual([]);
  });
});

describe('changePassword atomicity', () => {
  class FailingWalletRepository extends WalletRepository {
    override async compareAndSet(): Promise<boolean> {
      throw new Error('disk full while writing the wallet');
    }
  }
  const server = useTestServer({}, { repositories: { wallets: new FailingWalletRepository() } });

  it('when the wallet step fails, then password, seed, tokens and wallet are all as before', async () => {
    const account = await register(server);
    const a = await login(server, account.email, account.password, 'a');
    // The broken repository cannot upload either, so the wallet is written directly.
    await queryRows(
      server.app.db.dataSource.manager,
      'INSERT INTO wallets (account_id, encrypted_wallet, hmac, sequence, updated_at) SELECT id, ?, ?, 1, ? FROM accounts WHERE email = ?',
      ['old-keys-1', 'old-hmac-1', new Date().toISOString().slice(0, 23).replace('T', ' '), account.email],
    );
    const before = (await server.gql(WalletStateDocument, {}, a.token)).body.data!.walletState;
    expect(before).toMatchObject({ sequence: 1 });
    const response = await change(server, account.email, account.password, { encryptedWallet: 'new', sequence: 2, hmac: 'h' });
    expect(errorCode(response)).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(response.body)).not.toContain('disk full');
    await expectUnchanged(server, { ...account, a }, before);
  });
});

describe('deleteAccount and token purging', () => {
  let server: TestServer;
  const clock = new ManualClock();

  beforeAll(async () => {
    server = await startTestServer({}, { clock });
  });
  afterAll(() => server.close());

  const DELETE = 'mutation($p: String!) { deleteAccount(password: $p) }';
  const rows = async (table: string) => Number((await server.app.db.dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);

  it('when the password is wrong, then UNAUTHENTICATED and nothing is deleted', async () => {
    const account = await setUp(server, true);
    expect(errorCode(await server.gql(DELETE, { p: 'wrong password' }, account.a.token))).toBe('UNAUTHENTICATED');
    expect((await server.gql(WalletStateDocument, {}, account.a.token)).body.data!.walletState).toMatchObject({ sequence: 1 });
  });

  it('when the password is right, then the account, its wallet and all its tokens are gone and the email can register again', async () => {
    const account = await setUp(server, true);
    const [wallets, tokens] = [await rows('wallets'), await rows('auth_tokens')];
    expect((await server.gql(DELETE, { p: account.password }, account.a.token)).body.data!.deleteAccount).toBe(true);
    expect(await rows('wallets')).toBe(wallets - 1);
    expect(await rows('auth_tokens')).toBe(tokens - 2);
    for (const device of [account.a, account.b]) expect(errorCode(await server.gql(WalletStateDocument, {}, device.token))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(LoginDocument, { input: { email: account.email, password: account.password, deviceId: 'a' } }))).toBe('UNAUTHENTICATED');
    const again = await register(server, account.email);
    const device = await login(server, again.email, again.password, 'a');
    expect((await server.gql(WalletStateDocument, {}, device.token)).body.data!.walletState).toBeNull();
  });

  it('when tokens expire, then the maintenance purge removes them and leaves live ones', async () => {
    const account = await setUp(server, false);
    const live = await rows('auth_tokens');
    clock.advance(15 * 24 * 60 * 60 * 1000);
    const fresh = await login(server, account.email, account.password, 'fresh');
    expect(await server.app.services.sessions.purgeExpired()).toBe(live);
    expect(await rows('auth_tokens')).toBe(1);
    expect(errorCode(await server.gql(WalletStateDocument, {}, fresh.token))).toBeUndefined();
  });
});
