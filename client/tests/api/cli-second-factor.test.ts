import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExitCode, runCli } from 'wallet-sync-client/cli';
import { totpCode } from '../../../src/lib/totp';
import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { uniqueEmail } from '../../../test-support/operations';
import { ROOT_PASSWORD } from '../helpers/devices';

/** A code `steps` steps of 30 s from now: one step of drift is accepted, and a step already used is not. */
const codeAt = (secret: string, steps: number) => totpCode(secret, new Date(Date.now() + steps * 30_000));

/**
 * Issue 21, item 3 (the CLI): `wallet-sync 2fa status|enable|disable|recovery-codes`
 * and a login that takes the second factor (--totp, --recovery-code,
 * WALLET_SYNC_TOTP, or a prompt), with its own exit code, against a real server.
 */
describe('the wallet-sync CLI and the second factor', () => {
  let server: TestServer;
  let dir: string;

  beforeAll(async () => {
    server = await startTestServer();
    dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-2fa-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The CLI in-process; each prompt is answered by the next of `answers`, which sees what was printed so far (none left: no terminal). */
  async function cli(device: string, args: string[], env: Record<string, string> = {}, answers: Array<(stdout: string) => string> = []) {
    let stdout = '';
    let stderr = '';
    const prompts: string[] = [];
    const code = await runCli(['--server', server.url, '--state', path.join(dir, `${device}.json`), '--device', device, '--scrypt-cost', '16384', ...args], {
      env: { WALLET_SYNC_PASSWORD: ROOT_PASSWORD, ...env },
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      readSecret: async (prompt) => {
        prompts.push(prompt);
        const answer = answers.shift();
        if (!answer) throw new Error('no terminal');
        return answer(stdout);
      },
    });
    return { code, stdout, stderr, prompts, json: () => JSON.parse(stdout.trimEnd().split('\n').at(-1)!) };
  }

  it('when an account turns TOTP on, off and on again through the CLI, then every login needs the factor in each form the CLI takes it', async () => {
    const email = uniqueEmail('cli-2fa');
    expect((await cli('laptop', ['register', email])).code).toBe(ExitCode.Ok);
    expect((await cli('laptop', ['2fa', 'status', '--json'])).json()).toEqual({ enabled: false, totp: false, recoveryCodesLeft: 0 });

    // Text: a QR code and the URI, then the code typed, then the recovery codes once.
    let secret = '';
    const enabled = await cli('laptop', ['2fa', 'enable'], {}, [
      (printed) => {
        secret = /enter this key: ([A-Z2-7]+)/.exec(printed)![1];
        return codeAt(secret, 0);
      },
    ]);
    expect(enabled.code).toBe(ExitCode.Ok);
    expect(enabled.stdout).toMatch(/█/);
    expect(enabled.stdout).toContain(`(otpauth://totp/`);
    expect(enabled.prompts).toEqual(['Enter the 6-digit code the app shows: ']);
    const recoveryCodes = enabled.stdout.split('\n').filter((line) => /^ {2}\S/.test(line)).map((line) => line.trim());
    expect(recoveryCodes).toHaveLength(10);
    expect((await cli('laptop', ['2fa', 'status'])).stdout).toBe('Second factor: on (TOTP; 10 recovery codes left)\n');

    // A new device: no factor and no terminal, a wrong one, then WALLET_SYNC_TOTP, --recovery-code and a typed recovery code.
    const missing = await cli('phone', ['login', email]);
    expect(missing.code).toBe(ExitCode.SecondFactor);
    expect(missing.stderr).toContain('give --totp CODE (or WALLET_SYNC_TOTP) or --recovery-code CODE');
    expect((await cli('phone', ['login', email, '--totp', codeAt(secret, 4)])).code).toBe(ExitCode.SecondFactor);
    expect((await cli('phone', ['login', email], { WALLET_SYNC_TOTP: codeAt(secret, 1) })).code).toBe(ExitCode.Ok);
    expect((await cli('tablet', ['login', email, '--recovery-code', recoveryCodes[0]])).code).toBe(ExitCode.Ok);
    expect((await cli('tablet', ['login', email, '--recovery-code', recoveryCodes[0]])).code).toBe(ExitCode.SecondFactor);
    const typed = await cli('watch', ['login', email], {}, [() => recoveryCodes[1].toLowerCase()]);
    expect(typed).toMatchObject({ stderr: '', code: ExitCode.Ok });
    expect(typed.prompts).toEqual(['Enter the code of your authenticator app (or a recovery code): ']);
    expect((await cli('laptop', ['2fa', 'status', '--json'])).json()).toEqual({ enabled: true, totp: true, recoveryCodesLeft: 8 });

    // New recovery codes replace the old ones.
    const renewed = await cli('laptop', ['2fa', 'recovery-codes', '--json']);
    expect(renewed.json().recoveryCodes).toHaveLength(10);
    expect((await cli('desk', ['login', email, '--recovery-code', recoveryCodes[2]])).code).toBe(ExitCode.SecondFactor);
    expect((await cli('desk', ['login', email, '--recovery-code', renewed.json().recoveryCodes[0]])).code).toBe(ExitCode.Ok);

    // Off: the password alone logs in again.
    expect((await cli('laptop', ['2fa', 'disable', '--json'])).json()).toEqual({ enabled: false });
    expect((await cli('car', ['login', email])).code).toBe(ExitCode.Ok);

    // On again with --json: the secret comes first, as its own line, so a script can answer with a code.
    const scripted = await cli('laptop', ['2fa', 'enable', '--json'], {}, [(printed) => codeAt(JSON.parse(printed.split('\n')[0]).secret, 0)]);
    expect(scripted.code).toBe(ExitCode.Ok);
    const [first, last] = scripted.stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(first).toMatchObject({ event: 'totp-secret', secret: expect.stringMatching(/^[A-Z2-7]+$/), uri: expect.stringMatching(/^otpauth:\/\/totp\//) });
    expect(last).toEqual({ enabled: true, recoveryCodes: expect.any(Array) });
  });

  it('when an account with TOTP changes its password or is deleted through the CLI, then the factor is asked for, or taken from --totp and --recovery-code', async () => {
    const email = uniqueEmail('cli-2fa-change');
    expect((await cli('owner', ['register', email])).code).toBe(ExitCode.Ok);
    let secret = '';
    const enabled = await cli('owner', ['2fa', 'enable', '--json'], {}, [(printed) => codeAt((secret = JSON.parse(printed.split('\n')[0]).secret), 0)]);
    const { recoveryCodes } = enabled.json() as { recoveryCodes: string[] };
    const change = { WALLET_SYNC_PASSWORD: ROOT_PASSWORD, WALLET_SYNC_NEW_PASSWORD: 'another root password' };

    expect((await cli('owner', ['change-password'], change)).code).toBe(ExitCode.SecondFactor);
    // Asked twice: for the change, then for this device's new login, which a code of the same step cannot give.
    const typed = await cli('owner', ['change-password', '--json'], change, [() => codeAt(secret, 1), () => recoveryCodes[0]]);
    expect(typed).toMatchObject({ stderr: '', code: ExitCode.Ok });
    expect(typed.json()).toMatchObject({ changed: true, loggedIn: true });
    expect(typed.prompts).toEqual(Array(2).fill('Enter the code of your authenticator app (or a recovery code): '));

    // A factor given once is used up by the change: the password is changed and this device must log in again.
    const back = { WALLET_SYNC_PASSWORD: 'another root password', WALLET_SYNC_NEW_PASSWORD: ROOT_PASSWORD };
    const given = await cli('owner', ['change-password', '--recovery-code', recoveryCodes[1]], back);
    expect(given.code).toBe(ExitCode.Ok);
    expect(given.stdout).toContain('this one too, must log in again');
    expect((await cli('owner', ['login', email, '--recovery-code', recoveryCodes[2]])).code).toBe(ExitCode.Ok);

    expect((await cli('owner', ['delete-account'])).code).toBe(ExitCode.SecondFactor);
    expect((await cli('owner', ['delete-account', '--recovery-code', recoveryCodes[3]])).code).toBe(ExitCode.Ok);
    expect((await cli('someone', ['login', email])).code).toBe(ExitCode.Unauthenticated);
  });

  it.each([
    ['a wrong root password', ['2fa', 'enable'], { WALLET_SYNC_PASSWORD: 'not the root password' }, ExitCode.Unauthenticated],
    ['both --totp and --recovery-code', ['login', 'x@example.com', '--totp', '123456', '--recovery-code', 'ABCDE-FGHJK'], {}, ExitCode.Usage],
    ['no code to confirm with (no terminal, no standard input)', ['2fa', 'enable'], {}, ExitCode.Usage],
  ])('when 2fa is given %s, then it exits with its code', async (_what, args, env, code) => {
    const device = `bad-${code}-${args.length}`;
    expect((await cli(device, ['register', uniqueEmail('bad-2fa')])).code).toBe(ExitCode.Ok);
    expect((await cli(device, args, env)).code).toBe(code);
  });
});
