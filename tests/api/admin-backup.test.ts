import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { mysqlDump } from '../../src/db/dialects/mysql-dump';
import { pgDump } from '../../src/db/dialects/postgres-dump';
import { admin } from '../helpers/admin';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { TEST_ENV } from '../../test-support/test-env';
import { apiAt } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { createTestDatabase, testDialect } from '../../test-support/database';
import { login, registerAndLogin, upload, type Device } from '../../test-support/operations';
import { WalletHistoryDocument, WalletStateDocument } from '../../test-support/operations.generated';

const sqlite = testDialect() === 'sqlite';
const dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-backup-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

(sqlite ? describe : describe.skip)('backup and restore on SQLite', () => {
  it('when a backup is taken under continuous writes and restored into a fresh server, then every update acknowledged before the backup began is there, history included', async () => {
    const server = await startTestServer({ WALLET_VERSIONS_KEPT: '1000' });
    const env = { DATABASE_URL: server.database.url };
    const devices: Device[] = [];
    for (let i = 0; i < 4; i += 1) devices.push(await registerAndLogin(server, `writer-${i}`));
    const acknowledged = devices.map(() => 0);
    let writing = true;
    // One writer per account, each upload acknowledged before the next: sequence n acknowledged means 1..n are.
    const writers = devices.map(async (device, i) => {
      for (let sequence = 1; writing; sequence += 1) {
        const answer = await server.gql(
          `mutation U($input: WalletStateInput!) { updateWalletState(input: $input) { __typename } }`,
          { input: { encryptedWallet: `wallet-${i}-${sequence}`, sequence, hmac: `hmac-${i}-${sequence}` } },
          device.token,
        );
        if (answer.body.data?.updateWalletState?.__typename !== 'WalletStateSuccess') throw new Error(`upload ${sequence} failed: ${JSON.stringify(answer.body)}`);
        acknowledged[i] = sequence;
      }
    });
    try {
      while (Math.min(...acknowledged) < 5) await new Promise((resolve) => setTimeout(resolve, 20));
      const beforeBackup = [...acknowledged];
      const file = path.join(dir, 'under-load.sqlite');
      const backup = await admin(env, 'backup', file, '--json');
      const afterBackup = [...acknowledged];
      expect(backup.code).toBe(0);
      expect(backup.json.backup).toMatchObject({ file, integrity: 'ok' });
      // The writes went on during the backup: it was taken under load, not in a pause.
      expect(afterBackup.some((n, i) => n > beforeBackup[i])).toBe(true);

      writing = false;
      await Promise.all(writers);

      const restoredPath = path.join(dir, 'restored.sqlite');
      // --keep-tokens: the devices read the restored data with the tokens they hold (by default restore revokes them all).
      const restore = await admin({ DATABASE_URL: `sqlite:${restoredPath}` }, 'restore', file, '--yes', '--keep-tokens', '--json');
      expect(restore.code).toBe(0);
      expect(restore.json.restore).toMatchObject({ replacedKeptAt: null, tokensRevoked: null });
      const freshApp = await createApp(loadConfig({ ...TEST_ENV, DATABASE_URL: `sqlite:${restoredPath}`, WALLET_VERSIONS_KEPT: '1000' }), {
        logger: pino({ level: 'silent' }),
      });
      const freshUrl = await freshApp.listen();
      const fresh = apiAt(freshUrl);
      try {
        for (const [i, device] of devices.entries()) {
          const state = (await fresh.gql(WalletStateDocument, {}, device.token)).body.data!.walletState!;
          expect(state.sequence).toBeGreaterThanOrEqual(beforeBackup[i]);
          // A write may commit (and so be in the copy) before its answer reaches the writer; none can be past the last one.
          expect(state.sequence).toBeLessThanOrEqual(acknowledged[i]);
          expect(state.encryptedWallet).toBe(`wallet-${i}-${state.sequence}`);
          const history = (await fresh.gql(WalletHistoryDocument, { limit: 1000 }, device.token)).body.data!.walletHistory;
          const sequences = history.map((version: { sequence: number }) => version.sequence).sort((a: number, b: number) => a - b);
          // The chain is whole: every version from 1 to the restored one, none missing, none beyond it.
          expect(sequences).toEqual(Array.from({ length: state.sequence }, (_, k) => k + 1));
          expect(history.every((version: { contentKept: boolean }) => version.contentKept)).toBe(true);
        }
      } finally {
        await freshApp.close();
      }
    } finally {
      writing = false;
      await Promise.allSettled(writers);
      await server.close();
    }
  }, 120_000);

  it.each<[string, string[], boolean]>([
    ['by default', [], false],
    ['with --keep-tokens', ['--keep-tokens'], true],
  ])('when a backup is restored %s, then the tokens it held are revoked unless kept, and the command says which', async (_case, flags, kept) => {
    const server = await startTestServer();
    const device = await registerAndLogin(server, 'phone');
    await registerAndLogin(server, 'tablet');
    const file = path.join(dir, `tokens-${kept ? 'kept' : 'revoked'}.sqlite`);
    expect((await admin({ DATABASE_URL: server.database.url }, 'backup', file)).code).toBe(0);
    await server.close();

    const restoredPath = path.join(dir, `tokens-${kept ? 'kept' : 'revoked'}-restored.sqlite`);
    const env = { DATABASE_URL: `sqlite:${restoredPath}` };
    const text = await admin(env, 'restore', file, '--yes', ...flags);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(kept ? 'kept the 2 auth tokens' : 'revoked all 2 auth tokens');
    const json = await admin(env, 'restore', file, '--yes', '--json', ...flags);
    expect(json.json.restore.tokensRevoked).toBe(kept ? null : 2);
    rmSync(json.json.restore.replacedKeptAt, { force: true });

    const app = await createApp(loadConfig({ ...TEST_ENV, ...env }), { logger: pino({ level: 'silent' }) });
    try {
      const restored = apiAt(await app.listen());
      const answer = await restored.gql(WalletStateDocument, {}, device.token);
      if (kept) expect(answer.body.data).toEqual({ walletState: null });
      else expect(answer.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      // Either way the accounts are there: a device logs in again.
      expect((await login(restored, device.email, device.password, 'phone')).token).toBeTruthy();
    } finally {
      await app.close();
    }
  }, 60_000);

  it('when a server holds the database, then restore refuses (exit 4) and changes nothing; once it is stopped, restore keeps the replaced file aside', async () => {
    const server = await startTestServer();
    const database = server.database.url.replace(/^sqlite:/, '');
    const env = { DATABASE_URL: server.database.url };
    const device = await registerAndLogin(server);
    const file = path.join(dir, 'to-restore.sqlite');
    expect((await admin(env, 'backup', file)).code).toBe(0);
    expect((await admin(env, 'backup', file, '--json')).json.error.code).toBe('FILE_EXISTS');

    const refusedRun = await admin(env, 'restore', file, '--yes', '--json');
    expect(refusedRun.code).toBe(4);
    expect(refusedRun.json.error.code).toBe('DATABASE_IN_USE');
    expect((await server.gql(WalletStateDocument, {}, device.token)).status).toBe(200);

    await server.app.close();
    const restored = await admin(env, 'restore', file, '--yes', '--json');
    expect(restored.code).toBe(0);
    const kept = restored.json.restore.replacedKeptAt as string;
    expect(kept.startsWith(`${database}.replaced-`)).toBe(true);
    expect(existsSync(kept)).toBe(true);
    expect((await admin(env, 'accounts', 'show', device.email, '--json')).json.account.email).toBe(device.email);
    rmSync(kept, { force: true });
    await server.database.drop();
  }, 120_000);

  it('when the umask lets everyone read, then the database, its directory, a backup and a restore are owner-only, and a planted temporary file is not followed', async () => {
    const previous = process.umask(0o022);
    const mode = (file: string) => statSync(file).mode & 0o777;
    try {
      const data = path.join(dir, 'private', 'data');
      const database = path.join(data, 'wallet.sqlite');
      const app = await createApp(loadConfig({ ...TEST_ENV, DATABASE_URL: `sqlite:${database}` }), { logger: pino({ level: 'silent' }) });
      const server = apiAt(await app.listen());
      await upload(server, await registerAndLogin(server), 1);
      expect([mode(data), mode(path.dirname(data)), mode(database), mode(`${database}-wal`)]).toEqual([0o700, 0o700, 0o600, 0o600]);

      // The old backup wrote FILE.partial first: a link planted under that name must not receive the copy.
      const file = path.join(dir, 'private-backup.sqlite');
      const victim = path.join(dir, 'victim.txt');
      writeFileSync(victim, 'not yours');
      symlinkSync(victim, `${file}.partial`);
      const backup = await admin({ DATABASE_URL: `sqlite:${database}` }, 'backup', file, '--json');
      await app.close();
      expect(backup.code).toBe(0);
      expect(readFileSync(victim, 'utf8')).toBe('not yours');
      expect(mode(file)).toBe(0o600);
      expect(readdirSync(dir).filter((name) => name.startsWith('private-backup.sqlite.') && name !== 'private-backup.sqlite.partial')).toEqual([]);

      // A restore from a backup someone made readable is owner-only again.
      chmodSync(file, 0o644);
      const restoredPath = path.join(dir, 'private-restored.sqlite');
      expect((await admin({ DATABASE_URL: `sqlite:${restoredPath}` }, 'restore', file, '--yes', '--json')).code).toBe(0);
      expect(mode(restoredPath)).toBe(0o600);
    } finally {
      process.umask(previous);
    }
  }, 60_000);

  it.each([
    ['a file that is not SQLite', () => writeFileSync(path.join(dir, 'garbage.sqlite'), 'not a database at all, just text'), 'garbage.sqlite', 5],
    ['an SQLite file of another application', () => writeFileSync(path.join(dir, 'other.sqlite'), readFileSync(emptySqlite())), 'other.sqlite', 5],
    ['a file that does not exist', () => undefined, 'missing.sqlite', 4],
  ])('when restore is given %s, then it refuses before touching the database', async (_what, make, name, exitCode) => {
    make();
    const target = path.join(dir, `untouched-${name}`);
    writeFileSync(target, 'the current database');
    const run = await admin({ DATABASE_URL: `sqlite:${target}` }, 'restore', path.join(dir, name), '--yes', '--json');
    expect(run.code).toBe(exitCode);
    expect(readFileSync(target, 'utf8')).toBe('the current database');
  });
});

/** An SQLite file with one table, made with the driver this Node loads. */
function emptySqlite(): string {
  const file = path.join(dir, `empty-${Date.now()}.sqlite`);
  const Sqlite = require('../../src/db/dialects/sqlite-driver').sqliteDriver();
  const db = new Sqlite(file);
  db.exec('CREATE TABLE notes (text TEXT)');
  db.close();
  return file;
}

(testDialect() === 'mysql' ? describe : describe.skip)('backup on MySQL/MariaDB', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await registerAndLogin(server);
  });
  afterAll(async () => server?.close());

  it('when mysqldump is installed, then backup dumps the database in one transaction', async () => {
    const file = path.join(dir, 'dump.sql');
    const run = await admin({ DATABASE_URL: server.database.url }, 'backup', file, '--json');
    expect(run.code).toBe(0);
    const dump = readFileSync(file, 'utf8');
    expect(dump).toContain('CREATE TABLE `accounts`');
    expect(dump).toContain('INSERT INTO `accounts`');
    // The dump holds every password hash: owner-only, whatever the umask.
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('when no dump tool is installed, then backup refuses (exit 4) with the documented recipe', async () => {
    const attempt = mysqlDump(server.database.url, path.join(dir, 'never.sql'), ['no-such-dump-tool']);
    await expect(attempt).rejects.toMatchObject({ exitCode: 4, code: 'NO_DUMP_TOOL' });
    await expect(attempt).rejects.toThrow(/mysqldump --single-transaction/);
    expect(existsSync(path.join(dir, 'never.sql'))).toBe(false);
  });

  it('when restore is asked for on MySQL, then it refuses (exit 4) and shows how to restore a dump and revoke the tokens it brought back', async () => {
    const run = await admin({ DATABASE_URL: server.database.url }, 'restore', path.join(dir, 'dump.sql'), '--yes');
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/mysql .* < /);
    expect(run.stderr).toContain("-e 'DELETE FROM auth_tokens'");
  });
});

(testDialect() === 'postgres' ? describe : describe.skip)('backup on PostgreSQL', () => {
  let server: TestServer;
  let device: Device;
  beforeAll(async () => {
    server = await startTestServer();
    device = await registerAndLogin(server);
    await upload(server, device, 1, 'wallet before the dump');
  });
  afterAll(async () => server?.close());

  it('when pg_dump is installed, then backup dumps the database, and the documented psql restore gives a server the same wallet', async () => {
    const file = path.join(dir, 'dump.sql');
    const run = await admin({ DATABASE_URL: server.database.url }, 'backup', file, '--json');
    expect(run.code).toBe(0);
    expect(run.json.backup).toMatchObject({ file, tool: 'pg_dump' });
    expect(readFileSync(file, 'utf8')).toContain('CREATE TABLE public.accounts');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const restored = await createTestDatabase(server.database.url);
    try {
      const psql = spawnSync('psql', ['--single-transaction', '-v', 'ON_ERROR_STOP=1', '--quiet', '-d', restored.url, '-f', file], { encoding: 'utf8' });
      expect(psql.stderr).toBe('');
      expect(psql.status).toBe(0);
      const app = await createApp(loadConfig({ ...TEST_ENV, DATABASE_URL: restored.url }), { logger: pino({ level: 'silent' }) });
      try {
        const { gql } = apiAt(await app.listen());
        expect((await gql(WalletStateDocument, {}, device.token)).body.data!.walletState).toMatchObject({ sequence: 1, encryptedWallet: 'wallet before the dump' });
      } finally {
        await app.close();
      }
    } finally {
      await restored.drop();
    }
  });

  it('when pg_dump is not installed, then backup refuses (exit 4) with the documented recipe', async () => {
    const attempt = pgDump(server.database.url, path.join(dir, 'never.sql'), 'no-such-dump-tool');
    await expect(attempt).rejects.toMatchObject({ exitCode: 4, code: 'NO_DUMP_TOOL' });
    await expect(attempt).rejects.toThrow(/pg_dump --format=plain/);
    expect(existsSync(path.join(dir, 'never.sql'))).toBe(false);
  });

  it('when restore is asked for on PostgreSQL, then it refuses (exit 4) and shows how to restore a dump with psql', async () => {
    const run = await admin({ DATABASE_URL: server.database.url }, 'restore', path.join(dir, 'dump.sql'), '--yes');
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/psql --single-transaction .* -f /);
  });
});
