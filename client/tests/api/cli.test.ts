import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExitCode, runCli } from 'wallet-sync-client/cli';
import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { uniqueEmail } from '../../../test-support/operations';
import { ClientKeyParamsDocument, UpdateWalletStateDocument } from '../../../test-support/operations.generated';

/** The CLI in-process (real arguments, real state files, a real server), one device per state file. */
describe('the wallet-sync CLI', () => {
  let server: TestServer;
  let dir: string;
  const email = uniqueEmail('cli');

  beforeAll(async () => {
    server = await startTestServer();
    dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-cli-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  interface Run {
    code: number;
    stdout: string;
    stderr: string;
    json(): any;
  }

  async function cli(device: string, args: string[], env: Record<string, string> = {}, answers: string[] = [], stdin?: Uint8Array): Promise<Run> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(
      ['--server', server.url, '--state', path.join(dir, `${device}.json`), '--device', device, '--scrypt-cost', '16384', ...args],
      {
        env,
        stdout: (text) => (stdout += text),
        stderr: (text) => (stderr += text),
        readSecret: async () => {
          if (answers.length === 0) throw new Error('no terminal');
          return answers.shift()!;
        },
        readStdin: stdin && (async () => stdin),
      },
    );
    return { code, stdout, stderr, json: () => JSON.parse(stdout) };
  }
  const withPassword = (password: string) => ({ WALLET_SYNC_PASSWORD: password });

  it('when a device registers with the password typed twice, then it is registered and logged in', async () => {
    const run = await cli('laptop', ['register', email, '--json'], {}, ['root password 1', 'root password 1']);
    expect(run).toMatchObject({ code: ExitCode.Ok, stderr: '' });
    expect(run.json()).toMatchObject({ email, verified: true, loggedIn: true, deviceId: 'laptop' });
  });

  it('when the two typed passwords differ, then nothing is registered and the exit code is 2', async () => {
    const run = await cli('typo', ['register', uniqueEmail('typo')], {}, ['one password', 'another password']);
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain('differ');
  });

  it('when the typed password is empty, then nothing is registered and the exit code is 2', async () => {
    const run = await cli('empty', ['register', uniqueEmail('empty')], {}, ['']);
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain('empty');
  });

  it('when the email is taken, then register exits 7 with the server\'s reason', async () => {
    const run = await cli('other', ['register', email], withPassword('whatever pw'));
    expect(run.code).toBe(ExitCode.Refused);
    expect(run.stderr).toMatch(/taken|exists/i);
  });

  it('when there is no terminal and no WALLET_SYNC_PASSWORD, then login exits 2 and says how to give one', async () => {
    const run = await cli('phone', ['login', email]);
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain('WALLET_SYNC_PASSWORD');
  });

  it('when the root password is wrong, then login exits 3', async () => {
    expect((await cli('phone', ['login', email], withPassword('not the password'))).code).toBe(ExitCode.Unauthenticated);
  });

  it('when a second device logs in with WALLET_SYNC_PASSWORD, then it gets a token', async () => {
    const run = await cli('phone', ['login', email, '--json'], withPassword('root password 1'));
    expect(run.code).toBe(ExitCode.Ok);
    expect(run.json()).toMatchObject({ email, deviceId: 'phone' });
  });

  it('when both devices edit and push, then the later push exits 4 with the merge, and pushing again lands', async () => {
    expect((await cli('laptop', ['set', 'animal', 'cow'])).code).toBe(ExitCode.Ok);
    const first = await cli('laptop', ['push', '--json']);
    expect(first.code).toBe(ExitCode.Ok);
    expect(first.json()).toMatchObject({ result: 'success', walletState: { sequence: 1 } });

    expect((await cli('phone', ['set', 'car', 'Audi'])).code).toBe(ExitCode.Ok);
    const conflict = await cli('phone', ['push', '--json']);
    expect(conflict.code).toBe(ExitCode.Conflict);
    expect(conflict.json()).toMatchObject({ result: 'conflict', latest: { sequence: 1 }, preferences: { animal: 'cow', car: 'Audi' } });
    const again = await cli('phone', ['push']);
    expect(again).toMatchObject({ code: ExitCode.Ok, stdout: 'Pushed: the server now holds sequence 2\n' });
  });

  it('when a device syncs, then get prints the merged preferences, and a missing key exits 8', async () => {
    expect((await cli('laptop', ['sync'])).stdout).toBe('Synced: got sequence 2 from the server\n');
    expect((await cli('laptop', ['sync'])).stdout).toBe('Synced: up to date at sequence 2\n');
    expect((await cli('laptop', ['get', 'car'])).stdout).toBe('Audi\n');
    expect((await cli('laptop', ['get', '--json'])).json()).toEqual({ animal: 'cow', car: 'Audi' });
    expect((await cli('laptop', ['get', 'colour'])).code).toBe(ExitCode.NotFound);
    expect((await cli('laptop', ['status', '--json'])).json()).toMatchObject({ deviceId: 'laptop', email, loggedIn: true, sequence: 2, unsyncedKeys: [] });
  });

  it('when a preference is unset and synced, then the other device loses it too', async () => {
    await cli('laptop', ['unset', 'animal']);
    expect((await cli('laptop', ['status', '--json'])).json()).toMatchObject({ unsyncedKeys: ['animal'] });
    expect((await cli('laptop', ['sync', '--json'])).json()).toMatchObject({ sequence: 3, pushed: true });
    expect((await cli('phone', ['pull', '--json'])).json()).toMatchObject({ walletState: { sequence: 3 }, preferences: { car: 'Audi' } });
    expect((await cli('phone', ['get', 'animal'])).code).toBe(ExitCode.NotFound);
  });

  it('when an unsynced edit loses to another device\'s, then sync prints what was overwritten and by which device', async () => {
    await cli('laptop', ['set', 'color', 'blue']);
    await cli('phone', ['set', 'color', 'green']);
    expect((await cli('phone', ['sync'])).code).toBe(ExitCode.Ok);
    const run = await cli('laptop', ['sync']);
    expect(run.code).toBe(ExitCode.Ok);
    expect(run.stdout).toContain('Overwritten: your unsynced color = blue lost to green from device phone\n');
    const json = await cli('laptop', ['sync', '--json']);
    expect(json.json()).toMatchObject({ lostEdits: [], preferences: { color: 'green' } });
    expect((await cli('phone', ['sync'])).code).toBe(ExitCode.Ok);
  });

  it('when the server cannot be reached, then the exit code is 5', async () => {
    const run = await cli('laptop', ['pull', '--server', 'http://127.0.0.1:9']);
    expect(run.code).toBe(ExitCode.Network);
  });

  it('when the password changes on one device, then the other must log in again with the new one', async () => {
    const wrong = await cli('laptop', ['change-password'], { WALLET_SYNC_PASSWORD: 'not the password', WALLET_SYNC_NEW_PASSWORD: 'root password 2' });
    expect(wrong.code).toBe(ExitCode.Unauthenticated);
    const changed = await cli('laptop', ['change-password'], { WALLET_SYNC_PASSWORD: 'root password 1', WALLET_SYNC_NEW_PASSWORD: 'root password 2' });
    expect(changed.code).toBe(ExitCode.Ok);
    expect((await cli('phone', ['sync'])).code).toBe(ExitCode.Unauthenticated);
    expect((await cli('phone', ['login', email], withPassword('root password 1'))).code).toBe(ExitCode.Unauthenticated);
    expect((await cli('phone', ['login', email], withPassword('root password 2'))).code).toBe(ExitCode.Ok);
  });

  it('when a device logs out, then its next sync exits 3', async () => {
    expect((await cli('phone', ['logout'])).code).toBe(ExitCode.Ok);
    const run = await cli('phone', ['sync', '--json']);
    expect(run.code).toBe(ExitCode.Unauthenticated);
    expect(run.json()).toMatchObject({ error: { code: 'NOT_LOGGED_IN' } });
  });

  // Last: nothing can sync past a forged state, by design.
  it('when the server hands out a wallet state whose hmac does not verify, then pull exits 6 and the device keeps its state', async () => {
    const state = JSON.parse(readFileSync(path.join(dir, 'laptop.json'), 'utf8'));
    const forged = await server.gql(UpdateWalletStateDocument, { input: { sequence: 6, encryptedWallet: 'v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', hmac: 'ab'.repeat(32) } }, state.authToken.token);
    expect(forged.body.data!.updateWalletState.__typename).toBe('WalletStateSuccess');
    const run = await cli('laptop', ['pull']);
    expect(run.code).toBe(ExitCode.Integrity);
    expect(run.stderr).toContain('hmac');
    expect((await cli('laptop', ['status', '--json'])).json()).toMatchObject({ sequence: 5 });
  });

  it('when the account is deleted, then a wrong root password exits 3, the right one deletes it, and logging in fails', async () => {
    expect((await cli('laptop', ['delete-account'], withPassword('not the password'))).code).toBe(ExitCode.Unauthenticated);
    const run = await cli('laptop', ['delete-account', '--json'], withPassword('root password 2'));
    expect(run.code).toBe(ExitCode.Ok);
    expect(run.json()).toEqual({ deleted: true, email });
    expect((await cli('laptop', ['status', '--json'])).json()).toMatchObject({ email: null, loggedIn: false, sequence: null });
    expect((await cli('laptop', ['login', email], withPassword('root password 2'))).code).toBe(ExitCode.Unauthenticated);
  });

  it('when a device registers with --scrypt-cost and changes the password with a higher one, then the account holds each and another device logs in with it', async () => {
    const account = uniqueEmail('clicost');
    const keyParams = async () => (await server.gql(ClientKeyParamsDocument, { email: account })).body.data!.clientKeyParams;
    // The helper passes --scrypt-cost 16384 first; the one after the command overrides it.
    expect((await cli('cost1', ['register', account, '--scrypt-cost', '2^15'], withPassword('cost password 1'))).code).toBe(ExitCode.Ok);
    expect(await keyParams()).toMatchObject({ n: 2 ** 15, r: 8, p: 1 });
    const change = await cli('cost1', ['change-password', '--scrypt-cost', '65536'], { WALLET_SYNC_PASSWORD: 'cost password 1', WALLET_SYNC_NEW_PASSWORD: 'cost password 2' });
    expect(change.code).toBe(ExitCode.Ok);
    expect(await keyParams()).toMatchObject({ n: 2 ** 16, r: 8, p: 1 });
    // This device passes --scrypt-cost 16384 (the helper's), yet derives with the account's 2^16 and logs in.
    expect((await cli('cost2', ['login', account], withPassword('cost password 2'))).code).toBe(ExitCode.Ok);
  });

  it.each([
    ['an unknown command', ['fly']],
    ['a missing argument', ['set', 'animal']],
    ['set with both a value and --file', ['set', 'animal', 'cow', '--file', 'animal.txt']],
    ['set --file of a file that does not exist', ['set', 'animal', '--file', '/nonexistent/animal.txt']],
    ['set - with no standard input to read', ['set', 'animal', '-']],
    ['a scrypt cost that is not a power of two', ['--scrypt-cost', '20000', 'status']],
    ['a scrypt cost below the protocol\'s 2^14', ['--scrypt-cost', '8192', 'status']],
    ['a scrypt cost above the protocol\'s 2^20', ['--scrypt-cost', '2^21', 'status']],
  ])('when given %s, then the exit code is 2', async (_what, args) => {
    expect((await cli('laptop', args)).code).toBe(ExitCode.Usage);
  });

  it('when set is given --file or - (standard input), then the preference is the exact content, and the echo is cut short', async () => {
    const note = `line 1\nline 2 ✓\n${'x'.repeat(200)}\n`;
    const file = path.join(dir, 'note.txt');
    writeFileSync(file, note);
    const fromFile = await cli('laptop', ['set', 'note', '--file', file]);
    expect(fromFile.code).toBe(ExitCode.Ok);
    expect(fromFile.stdout).toBe(`note = line 1\\x0aline 2 ✓\\x0a${'x'.repeat(64)}… (${[...note].length} characters) (not synced yet)\n`);
    expect((await cli('laptop', ['get', 'note', '--json'])).json()).toEqual({ key: 'note', value: note });
    expect((await cli('laptop', ['get', 'note'])).stdout).toBe(`${note}\n`);

    const fromStdin = await cli('laptop', ['set', 'piped', '-'], {}, [], new TextEncoder().encode('from a pipe'));
    expect(fromStdin).toMatchObject({ code: ExitCode.Ok, stdout: 'piped = from a pipe (not synced yet)\n' });
    expect((await cli('laptop', ['get', 'piped'])).stdout).toBe('from a pipe\n');

    const notText = await cli('laptop', ['set', 'binary', '-'], {}, [], Uint8Array.of(0xff, 0xfe, 0x00));
    expect(notText.code).toBe(ExitCode.Usage);
    expect(notText.stderr).toContain('standard input is not UTF-8 text');
  });

  it.each([
    ['7 characters', 'short12', ExitCode.Usage, /has 7 characters: it needs at least 8/],
    ['8 characters', 'eight ch', ExitCode.Ok, /warning: the root password has 8 characters; 12 or more are recommended/],
    ['11 characters', 'eleven char', ExitCode.Ok, /warning: the root password has 11 characters/],
  ])('when the root password chosen at register has %s, then the CLI answers %s', async (_what, password, code, stderr) => {
    const run = await cli(`length-${password.length}`, ['register', uniqueEmail('length')], withPassword(password));
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(stderr);
  });

  it('when the root password chosen has 12 characters, then register gives no warning, and a short new password at change-password is refused', async () => {
    const run = await cli('length-12', ['register', uniqueEmail('length')], withPassword('twelve chars'));
    expect(run).toMatchObject({ code: ExitCode.Ok, stderr: '' });
    const change = await cli('length-12', ['change-password'], { WALLET_SYNC_PASSWORD: 'twelve chars', WALLET_SYNC_NEW_PASSWORD: 'short' });
    expect(change.code).toBe(ExitCode.Usage);
    expect(change.stderr).toContain('new root password has 5 characters: it needs at least 8');
  });
});
