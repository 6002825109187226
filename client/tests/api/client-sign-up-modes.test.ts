import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nodeScrypt, type ScryptFunction } from 'wallet-sync-client';
import { ExitCode, runCli } from 'wallet-sync-client/cli';
import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { uniqueEmail } from '../../../test-support/operations';
import { useEmailVerifyServer } from '../../../tests/helpers/hooks';
import { verificationCode } from '../../../tests/helpers/smtp';
import { ROOT_PASSWORD, openDevice } from '../helpers/devices';

/** Node's scrypt, counting derivations: asking for the verification code must not derive the keys again. */
function countingScrypt(): { scrypt: ScryptFunction; count: () => number } {
  let calls = 0;
  return { count: () => calls, scrypt: (password, salt, params, length) => ((calls += 1), nodeScrypt(password, salt, params, length)) };
}

/** The CLI in-process against `server`, with `answers` for its prompts, in order (none left: no terminal); a function answers when asked. */
async function cliAt(server: TestServer, dir: string, device: string, args: string[], env: Record<string, string> = {}, answers: Array<string | (() => Promise<string>)> = []) {
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
      if (answer === undefined) throw new Error('no terminal');
      return typeof answer === 'string' ? answer : answer();
    },
  });
  return { code, stdout, stderr, prompts, json: () => JSON.parse(stdout) };
}

/**
 * Issue 21, item 1: the client and the CLI complete a sign-up in every account
 * verification mode (PROTOCOL.md "Account verification modes"), against real
 * servers; EmailVerify's code is read from the mail a real SMTP server received.
 */
describe('signing up in every account verification mode', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-modes-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('EmailVerify', () => {
    const { server, mailed } = useEmailVerifyServer();
    const mailedCode = async (email: string) => verificationCode(await mailed(email));
    const cli = (device: string, args: string[], env?: Record<string, string>) => cliAt(server, dir, device, args, env);

    it('when a device registers, then it is pending; login without the code is ACCOUNT_NOT_VERIFIED, and with the mailed one it logs in, derived once', async () => {
      const email = uniqueEmail('verify');
      const counted = countingScrypt();
      const laptop = await openDevice(server, 'laptop', { scrypt: counted.scrypt });
      await expect(laptop.register(email, ROOT_PASSWORD)).resolves.toEqual({ verified: false, pending: true });
      const code = await mailedCode(email);
      await expect(laptop.login()).rejects.toMatchObject({ code: 'ACCOUNT_NOT_VERIFIED' });

      const asked: string[] = [];
      await laptop.login(undefined, { verificationCode: async (account) => (asked.push(account), code.toLowerCase()) });
      expect(asked).toEqual([email]);
      expect(counted.count()).toBe(1);
      await laptop.setPreference('animal', 'cow');
      await laptop.sync();

      // Verified now: another device logs in with the root password alone.
      const phone = await openDevice(server, 'phone');
      await phone.login({ email, rootPassword: ROOT_PASSWORD });
      await phone.sync();
      expect(phone.preferences()).toEqual({ animal: 'cow' });
    });

    it('when a new code is asked for with resendVerificationEmail, then the earlier one no longer works and the new one does', async () => {
      const email = uniqueEmail('resend');
      const laptop = await openDevice(server, 'laptop');
      await laptop.register(email, ROOT_PASSWORD);
      const first = await mailedCode(email);
      await laptop.resendVerificationEmail(email);
      const second = await mailedCode(email);
      expect(second).not.toBe(first);
      await expect(laptop.login(undefined, { verificationCode: first })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      await expect(laptop.login(undefined, { verificationCode: second })).resolves.toMatchObject({ deviceId: 'laptop' });
    });

    it('when the CLI registers in a terminal, then it asks for the code from the email and logs in', async () => {
      const email = uniqueEmail('cli-terminal');
      // The prompts answer in order: the password twice (no WALLET_SYNC_PASSWORD), then the code from the mail.
      const run = await cliAt(server, dir, 'terminal', ['register', email, '--json'], { WALLET_SYNC_PASSWORD: '' }, [ROOT_PASSWORD, ROOT_PASSWORD, () => mailedCode(email)]);
      expect(run.code).toBe(ExitCode.Ok);
      expect(run.prompts).toContain(`Enter the code from the email to ${email}: `);
      expect(run.json()).toMatchObject({ email, verified: true, pending: false, loggedIn: true });
      expect((await cli('terminal', ['sync'])).code).toBe(ExitCode.Ok);
    });

    it('when the CLI registers without a terminal, then it says a code was mailed and how to log in with it; login --code, WALLET_SYNC_VERIFICATION_CODE and resend-code work', async () => {
      const email = uniqueEmail('cli-script');
      const registered = await cli('script', ['register', email]);
      expect(registered.code).toBe(ExitCode.Ok);
      expect(registered.stdout).toContain(`the server mailed a verification code to it. Log in with it: wallet-sync login ${email} --code CODE`);
      expect(registered.stdout).not.toMatch(/link/i);
      const first = await mailedCode(email);

      const withoutCode = await cli('script', ['login', email]);
      expect(withoutCode.code).toBe(ExitCode.Unauthenticated);
      expect(withoutCode.stderr).toContain('give the code from the email with --code CODE or WALLET_SYNC_VERIFICATION_CODE');

      const resent = await cli('script', ['resend-code', email]);
      expect(resent.code).toBe(ExitCode.Ok);
      const second = await mailedCode(email);
      const stale = await cli('script', ['login', email, '--code', first]);
      expect(stale.code).toBe(ExitCode.Unauthenticated);
      expect(stale.stderr).toContain(`This device's registration of ${email} was waiting for its code: a wrong code or root password, or the registration expired`);
      expect((await cli('script', ['login', email], { WALLET_SYNC_VERIFICATION_CODE: second })).code).toBe(ExitCode.Ok);
      expect((await cli('other', ['login', email, '--json'])).json()).toMatchObject({ email, deviceId: 'other' });
    });
  });

  describe('Whitelist', () => {
    const listed = uniqueEmail('listed');
    const listedCli = uniqueEmail('listed-cli');
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ ACCOUNT_VERIFICATION_MODE: 'Whitelist', ACCOUNT_WHITELIST: `${listed},${listedCli}` });
    });
    afterAll(() => server.close());

    it('when a listed email registers, then it is verified at once and logs in; an unlisted one gets REGISTRATION_CLOSED', async () => {
      const laptop = await openDevice(server, 'laptop');
      await expect(laptop.register(listed, ROOT_PASSWORD)).resolves.toEqual({ verified: true, pending: false });
      await laptop.login();
      await laptop.setPreference('animal', 'cow');
      await expect(laptop.sync()).resolves.toMatchObject({ pushed: true, sequence: 1 });
      const stranger = await openDevice(server, 'stranger');
      await expect(stranger.register(uniqueEmail('unlisted'), ROOT_PASSWORD)).rejects.toMatchObject({ code: 'REGISTRATION_CLOSED' });
    });

    it('when the CLI registers a listed email, then it is logged in; an unlisted one exits 7', async () => {
      const run = await cliAt(server, dir, 'listed', ['register', listedCli, '--json']);
      expect(run.code).toBe(ExitCode.Ok);
      expect(run.json()).toMatchObject({ verified: true, pending: false, loggedIn: true });
      const refused = await cliAt(server, dir, 'unlisted', ['register', uniqueEmail('unlisted-cli')]);
      expect(refused.code).toBe(ExitCode.Refused);
    });
  });

  describe('AllowAll', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ ACCOUNT_VERIFICATION_MODE: 'AllowAll' });
    });
    afterAll(() => server.close());

    it('when anyone registers, then the account is verified, not pending, and the CLI logs in at once', async () => {
      const laptop = await openDevice(server, 'laptop');
      await expect(laptop.register(uniqueEmail('allow'), ROOT_PASSWORD)).resolves.toEqual({ verified: true, pending: false });
      const run = await cliAt(server, dir, 'allow', ['register', uniqueEmail('allow-cli'), '--json']);
      expect(run.json()).toMatchObject({ verified: true, pending: false, loggedIn: true });
    });
  });
});
