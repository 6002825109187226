import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ExitCode, runCli } from 'wallet-sync-client/cli';
import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { ROOT_PASSWORD, TEST_SCRYPT_COST, openDevice } from '../helpers/devices';
import { uniqueEmail } from '../../../test-support/operations';
import { totpCode } from '../../../src/lib/totp';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'client', 'scripts', 'wallet-sync.ts');

/**
 * The reported loss: `wallet-sync watch` in one process and `wallet-sync set`
 * in others on the same state file, while another device's updates make the
 * watcher rewrite the file. Real processes, a real server.
 */
describe('the wallet-sync CLI: several processes on one state file', () => {
  let server: TestServer;
  let dir: string;
  let watcher: ChildProcess | undefined;

  beforeAll(async () => {
    server = await startTestServer();
    dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-procs-'));
  });
  afterAll(async () => {
    watcher?.kill('SIGKILL');
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const args = (state: string) => ['--server', server.url, '--state', path.join(dir, state), '--device', 'laptop', '--scrypt-cost', String(TEST_SCRYPT_COST)];

  function cliProcess(cliArgs: string[]): Promise<{ stdout: string; stderr: string }> {
    return promisify(execFile)(process.execPath, ['-r', 'ts-node/register/transpile-only', CLI, ...cliArgs], { cwd: ROOT, timeout: 120_000 });
  }

  it('when a watch process syncs other devices\' updates while set processes write, then no preference is lost', async () => {
    const email = uniqueEmail('procs');
    const io = { env: { WALLET_SYNC_PASSWORD: ROOT_PASSWORD }, stdout: () => undefined, stderr: () => undefined, readSecret: () => Promise.reject(new Error('no terminal')) };
    expect(await runCli([...args('laptop.json'), 'register', email], io)).toBe(ExitCode.Ok);
    expect(await runCli([...args('laptop.json'), 'sync'], io)).toBe(ExitCode.Ok);
    const phone = await openDevice(server, 'phone');
    await phone.login({ email, rootPassword: ROOT_PASSWORD });

    watcher = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CLI, ...args('laptop.json'), '--json', 'watch'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let watchOutput = '';
    const exited = new Promise<number | null>((resolve) => watcher!.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      watcher!.stdout!.on('data', (chunk: Buffer) => {
        watchOutput += chunk.toString();
        if (watchOutput.includes('"event":"connected"')) resolve();
      });
      void exited.then(() => reject(new Error(`watch exited early: ${watchOutput}`)));
    });

    // Five `set` processes and five updates from the phone, all at once: every phone update makes the watcher rewrite laptop.json.
    const keys = ['a', 'b', 'c', 'd', 'e'];
    await Promise.all([
      ...keys.map((key) => cliProcess([...args('laptop.json'), 'set', `laptop-${key}`, key])),
      (async () => {
        for (const key of keys) {
          await phone.setPreference(`phone-${key}`, key);
          await phone.sync();
        }
      })(),
    ]);

    // One more phone update: the watcher's sync now uploads the laptop's local edits. Wait until the phone sees them all.
    await phone.setPreference('phone-last', 'z');
    await phone.sync();
    const expected = Object.fromEntries([...keys.flatMap((key) => [[`laptop-${key}`, key], [`phone-${key}`, key]]), ['phone-last', 'z']]);
    const deadline = Date.now() + 60_000;
    while (Object.keys(phone.preferences()).length < Object.keys(expected).length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await phone.sync();
    }
    expect(phone.preferences()).toEqual(expected);

    watcher.kill('SIGINT');
    expect(await exited).toBe(0);
    watcher = undefined;
    const printed: string[] = [];
    expect(await runCli([...args('laptop.json'), '--json', 'get'], { ...io, stdout: (text) => printed.push(text) })).toBe(ExitCode.Ok);
    expect(JSON.parse(printed.join(''))).toEqual(expected);
  }, 240_000);

  /** The CLI as its own process, with `input` on its standard input; `closeStdout` closes the reading end at once (`| head`). */
  function run(cliArgs: string[], options: { input?: string; closeStdout?: boolean } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CLI, ...cliArgs], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(options.input ?? '');
    return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
  }

  it('when --json output goes to a reader that already closed (`| head`), then the CLI exits with its own code and no EPIPE crash', async () => {
    const result = await run([...args('epipe.json'), '--json', 'get'], { closeStdout: true });
    expect(result).toMatchObject({ code: ExitCode.Ok, stderr: '' });
  }, 60_000);

  it('when `set KEY -` reads a pipe, then the preference is exactly what was piped', async () => {
    const piped = 'first line\nsecond line ✓\n';
    expect(await run([...args('stdin.json'), 'set', 'note', '-'], { input: piped })).toMatchObject({ code: ExitCode.Ok, stderr: '' });
    const got = await run([...args('stdin.json'), '--json', 'get', 'note']);
    expect(JSON.parse(got.stdout)).toEqual({ key: 'note', value: piped });
  }, 60_000);

  it('when `2fa enable --json` runs without a terminal, then a script answers the code on standard input from the secret printed first', async () => {
    const io = { env: { WALLET_SYNC_PASSWORD: ROOT_PASSWORD }, stdout: () => undefined, stderr: () => undefined, readSecret: () => Promise.reject(new Error('no terminal')) };
    expect(await runCli([...args('2fa.json'), 'register', uniqueEmail('procs-2fa')], io)).toBe(ExitCode.Ok);
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CLI, ...args('2fa.json'), '--json', '2fa', 'enable'], {
      cwd: ROOT,
      env: { ...process.env, WALLET_SYNC_PASSWORD: ROOT_PASSWORD },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let answered = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (answered || !stdout.includes('\n')) return;
      answered = true;
      child.stdin.end(`${totpCode(JSON.parse(stdout.split('\n')[0]).secret, new Date())}\n`);
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(ExitCode.Ok);
    expect(JSON.parse(stdout.trimEnd().split('\n').at(-1)!)).toEqual({ enabled: true, recoveryCodes: expect.arrayContaining([expect.stringMatching(/^[0-9A-Z-]+$/)]) });
  }, 60_000);
});
