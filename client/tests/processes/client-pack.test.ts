import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { uniqueEmail } from '../../../test-support/operations';
import { useEmailVerifyServer } from '../../../tests/helpers/hooks';
import { verificationCode } from '../../../tests/helpers/smtp';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const run = promisify(execFile);

/**
 * The client as a wallet app gets it: `npm pack` of the workspace, installed
 * into an empty project by npm (its dependencies from the npm cache or the
 * registry, nothing from this repository), then used from plain JavaScript,
 * from TypeScript and through its `wallet-sync` executable against a real server.
 */
describe('the packed client package', () => {
  let server: TestServer;
  let dir: string;
  let app: string;
  let tarball: string;

  beforeAll(async () => {
    server = await startTestServer();
    dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-pack-'));
    // prepack compiles src/ to dist/ (the generated operations are committed and checked by the client's own test).
    const packed = await run('npm', ['pack', '--workspace', 'wallet-sync-client', '--pack-destination', dir, '--json'], { cwd: ROOT, timeout: 180_000 });
    tarball = path.join(dir, JSON.parse(packed.stdout)[0].filename);
    app = path.join(dir, 'app');
    await run('mkdir', ['-p', app]);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'some-wallet-app', version: '1.0.0', private: true }));
    await run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, timeout: 300_000 });
  }, 600_000);
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when packed, then the tarball holds the built files, their types, the CLI, README and CHANGELOG only', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n').map((file) => file.replace(/^package\//, ''));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'CHANGELOG.md', 'bin/wallet-sync.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/wallet-sync.cli.js', 'dist/cli/wallet-sync.cli.d.ts']));
    expect(files.filter((file) => !/^(package\.json|README\.md|CHANGELOG\.md|bin\/wallet-sync\.js|dist\/.+\.(js|d\.ts))$/.test(file))).toEqual([]);
  });

  it('when installed into an empty project, then none of the server\'s dependencies come along', async () => {
    const installed = readdirSync(path.join(app, 'node_modules'));
    expect(installed).toEqual(expect.arrayContaining(['wallet-sync-client', 'graphql', 'graphql-request', 'graphql-ws', 'ws']));
    for (const serverOnly of ['argon2', 'better-sqlite3', 'mysql2', 'fastify', 'typeorm', '@apollo', 'ioredis', 'type-graphql']) expect(installed).not.toContain(serverOnly);
  });

  it('when a plain Node script registers, edits and syncs two devices with the installed package, then both hold the same preferences', async () => {
    writeFileSync(
      path.join(app, 'two-devices.js'),
      `const { WalletSyncClient, MemoryDeviceStateStore } = require('wallet-sync-client');
(async () => {
  const [url, email] = process.argv.slice(2);
  const open = (deviceId) => WalletSyncClient.open({ url, deviceId, store: new MemoryDeviceStateStore(), keyParams: { n: 2 ** 14, r: 1, p: 1 } });
  const laptop = await open('laptop');
  const phone = await open('phone');
  await laptop.register(email, 'a root password');
  await laptop.login();
  await phone.login({ email, rootPassword: 'a root password' });
  await laptop.setPreference('animal', 'beaver');
  await laptop.sync();
  await phone.setPreference('car', 'Toyota');
  await phone.sync();
  await laptop.sync();
  console.log(JSON.stringify({ laptop: laptop.preferences(), phone: phone.preferences(), sequence: laptop.status().sequence }));
})().catch((error) => { console.error(error); process.exitCode = 1; });
`,
    );
    const { stdout } = await run(process.execPath, ['two-devices.js', server.url, uniqueEmail('packed')], { cwd: app, timeout: 60_000 });
    const both = { animal: 'beaver', car: 'Toyota' };
    expect(JSON.parse(stdout)).toEqual({ laptop: both, phone: both, sequence: 2 });
  }, 90_000);

  it('when a TypeScript app imports the installed package, then its types resolve through the package exports', async () => {
    writeFileSync(
      path.join(app, 'typed.ts'),
      `import { WalletSyncClient, type SyncResult } from 'wallet-sync-client';
import { runCli } from 'wallet-sync-client/cli';
export async function lost(client: WalletSyncClient): Promise<string[]> {
  const result: SyncResult = await client.sync();
  return result.lostEdits.map((edit) => edit.key);
}
export const cli: typeof runCli = runCli;
// @ts-expect-error values are strings
export const wrong = (client: WalletSyncClient) => client.setPreference('theme', { dark: true });
`,
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await expect(
      run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules', '@types'), 'typed.ts'], { cwd: app, timeout: 120_000 }),
    ).resolves.toBeDefined();
  }, 150_000);

  it('when the installed wallet-sync executable logs a device in and reads a preference, then it works like the CLI in a clone', async () => {
    const email = uniqueEmail('packedcli');
    const env = { ...process.env, WALLET_SYNC_URL: server.url, WALLET_SYNC_PASSWORD: 'another root password', WALLET_SYNC_SCRYPT_COST: '16384' };
    const cli = (...args: string[]) => run(path.join(app, 'node_modules', '.bin', 'wallet-sync'), ['--state', path.join(app, 'device.json'), ...args], { cwd: app, env, timeout: 60_000 });
    await cli('register', email);
    await cli('set', 'animal', 'beaver');
    await cli('sync');
    expect((await cli('--json', 'status')).stdout).toMatch(/"sequence":1/);
    expect((await cli('get', 'animal')).stdout).toBe('beaver\n');
  }, 90_000);

  describe('on a server that verifies emails (EmailVerify)', () => {
    const { server: verifying, mailed } = useEmailVerifyServer();
    const mailedCode = async (email: string) => verificationCode(await mailed(email));

    it('when a plain Node script signs up with the installed package, then it is pending, and logs in with the code from the mail', async () => {
      const email = uniqueEmail('packed-verify');
      const codeFile = path.join(app, 'code.txt');
      writeFileSync(
        path.join(app, 'sign-up.js'),
        `const { existsSync, readFileSync } = require('node:fs');
const { WalletSyncClient, MemoryDeviceStateStore } = require('wallet-sync-client');
(async () => {
  const [url, email, codeFile] = process.argv.slice(2);
  const laptop = await WalletSyncClient.open({ url, deviceId: 'laptop', store: new MemoryDeviceStateStore(), keyParams: { n: 2 ** 14, r: 1, p: 1 } });
  const { pending } = await laptop.register(email, 'a root password');
  // The app asks its user for the code; here, a file the test writes once the mail has arrived.
  const askUser = async () => {
    while (!existsSync(codeFile)) await new Promise((resolve) => setTimeout(resolve, 50));
    return readFileSync(codeFile, 'utf8');
  };
  await laptop.login(undefined, { verificationCode: askUser });
  await laptop.setPreference('animal', 'beaver');
  console.log(JSON.stringify({ pending, ...(await laptop.sync()) }));
})().catch((error) => { console.error(error); process.exitCode = 1; });
`,
      );
      const signingUp = run(process.execPath, ['sign-up.js', verifying.url, email, codeFile], { cwd: app, timeout: 60_000 });
      // Written whole under another name, then renamed into place: the script polls for the file and must never read it half-written.
      writeFileSync(`${codeFile}.partial`, await mailedCode(email));
      renameSync(`${codeFile}.partial`, codeFile);
      expect(JSON.parse((await signingUp).stdout)).toMatchObject({ pending: true, pushed: true, sequence: 1 });
    }, 90_000);

    it('when the installed wallet-sync executable registers without a terminal, then login --code with the mailed code finishes the sign-up', async () => {
      const email = uniqueEmail('packed-verify-cli');
      const env = { ...process.env, WALLET_SYNC_URL: verifying.url, WALLET_SYNC_PASSWORD: 'another root password', WALLET_SYNC_SCRYPT_COST: '16384' };
      const cli = (...args: string[]) => run(path.join(app, 'node_modules', '.bin', 'wallet-sync'), ['--state', path.join(app, 'verify.json'), ...args], { cwd: app, env, timeout: 60_000 });
      expect((await cli('register', email)).stdout).toContain(`Log in with it: wallet-sync login ${email} --code CODE`);
      await cli('login', email, '--code', await mailedCode(email));
      await cli('set', 'animal', 'beaver');
      expect((await cli('--json', 'sync')).stdout).toMatch(/"pushed":true/);
    }, 90_000);
  });
});
