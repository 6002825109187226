import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { admin } from '../helpers/admin';
import { TEST_ENV } from '../../test-support/test-env';
import { apiAt } from '../../test-support/graphql-http';
import { createTestDatabase, testDialect, type TestDatabase } from '../../test-support/database';
import { login, registerAndLogin, upload } from '../../test-support/operations';
import {
  WalletHistoryDocument,
  LoginWithPasskeyDocument,
  MeDocument,
  PasskeySignInOptionsDocument,
  WalletStateDocument,
} from '../../test-support/operations.generated';
import { PASSKEY_ENV, PASSKEY_ORIGIN, addPasskey } from '../helpers/second-factor';
import { SoftwareAuthenticator } from '../helpers/webauthn-authenticator';
import { describeWith, databaseServerRequirement } from '../helpers/required-services';

/** SQLite → the pass's database server with the admin command (it needs a server to copy into). */
describeWith([databaseServerRequirement()], `migrate-to: SQLite into ${testDialect()}`, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-migrate-test-'));
  const sqliteUrl = `sqlite:${path.join(dir, 'source.sqlite')}`;
  let target: TestDatabase;

  beforeAll(async () => {
    target = await createTestDatabase(process.env.DATABASE_URL);
  });
  afterAll(async () => {
    await target?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when every table is copied, then counts and checksums match, and a server on the target serves the same accounts, wallets, history, whitelist and passkeys', async () => {
    const source = await createApp(loadConfig({ ...TEST_ENV, ...PASSKEY_ENV, DATABASE_URL: sqliteUrl }), { logger: pino({ level: 'silent' }) });
    const url = await source.listen();
    const server = apiAt(url);
    const alice = await registerAndLogin(server, 'laptop');
    await login(server, alice.email, alice.password, 'phone');
    for (let sequence = 1; sequence <= 3; sequence += 1) await upload(server, alice, sequence, `wallet-${sequence}-${'ü'.repeat(50)}`);
    const bob = await registerAndLogin(server, 'desktop');
    await upload(server, bob, 1);
    const authenticator = new SoftwareAuthenticator(PASSKEY_ORIGIN);
    await addPasskey(server, alice, authenticator);
    const before = (await server.gql(WalletStateDocument, {}, alice.token)).body.data!.walletState;
    expect((await admin({ DATABASE_URL: sqliteUrl }, 'whitelist', 'add', 'later@example.com')).code).toBe(0);

    const whileServing = await admin({ DATABASE_URL: sqliteUrl }, 'migrate-to', target.url, '--json');
    expect(whileServing.code).toBe(4);
    expect(whileServing.json.error.code).toBe('DATABASE_IN_USE');
    await source.close();

    const run = await admin({ DATABASE_URL: sqliteUrl }, 'migrate-to', target.url, '--json');
    expect(run.code).toBe(0);
    const tables = Object.fromEntries(run.json.migration.tables.map((t: { table: string; rows: number }) => [t.table, t.rows]));
    expect(tables).toMatchObject({ accounts: 2, auth_tokens: 3, wallets: 2, account_whitelist: 1, passkeys: 1 });
    expect(tables.wallet_versions).toBe(4);

    const again = await admin({ DATABASE_URL: sqliteUrl }, 'migrate-to', target.url, '--json');
    expect(again.code).toBe(4);
    expect(again.json.error.code).toBe('TARGET_NOT_EMPTY');

    const moved = await createApp(loadConfig({ ...TEST_ENV, ...PASSKEY_ENV, DATABASE_URL: target.url }), { logger: pino({ level: 'silent' }) });
    const movedUrl = await moved.listen();
    try {
      const { gql } = apiAt(movedUrl);
      expect((await gql(WalletStateDocument, {}, alice.token)).body.data!.walletState).toEqual(before);
      expect((await gql(MeDocument, {}, bob.token)).body.data!.me.email).toBe(bob.email);
      const history = (await gql(WalletHistoryDocument, { limit: 10 }, alice.token)).body.data!.walletHistory;
      expect(history.map((v: { sequence: number }) => v.sequence).sort()).toEqual([1, 2, 3]);
      // The passkey came along (its key, counter and user handle under the copied server secret): it signs in.
      const signIn = (await gql(PasskeySignInOptionsDocument, {})).body.data!.passkeySignInOptions;
      const signedIn = await gql(LoginWithPasskeyDocument, { input: { assertion: JSON.stringify(authenticator.get(signIn)), deviceId: 'tablet' } });
      expect(signedIn.body.data?.loginWithPasskey.email).toBe(alice.email);
      // New rows get fresh ids after the copied ones.
      const carol = await registerAndLogin({ gql }, 'tablet');
      expect((await gql(MeDocument, {}, carol.token)).body.data!.me.email).toBe(carol.email);
      expect((await admin({ DATABASE_URL: target.url }, 'whitelist', 'list', '--json')).json.entries.map((e: { emailNormalized: string }) => e.emailNormalized)).toEqual([
        'later@example.com',
      ]);
    } finally {
      await moved.close();
    }
  }, 120_000);

  it('when the source is not SQLite, then migrate-to refuses (exit 4)', async () => {
    const run = await admin({ DATABASE_URL: target.url }, 'migrate-to', target.url, '--json');
    expect(run.code).toBe(4);
    expect(run.json.error.code).toBe('NOT_EMBEDDED');
  });
});
