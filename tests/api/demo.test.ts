import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { useTestServer } from '../helpers/hooks';

const ROOT = path.resolve(__dirname, '..', '..');

/** `npm run demo` as a newcomer runs it: a separate process, its own output and exit code. */
describe('npm run demo', () => {
  const server = useTestServer();

  async function runDemo(env: Record<string, string>) {
    const { DATABASE_URL: _ignored, WALLET_SYNC_URL: _unset, ...inherited } = process.env;
    return promisify(execFile)('npm', ['run', '--silent', 'demo'], { cwd: ROOT, env: { ...inherited, ...env }, timeout: 120_000 });
  }

  function expectWalkthroughOutput(stdout: string) {
    expect(stdout).toContain('>>> c1.register(email, rootPassword)\nRegistered');
    expect(stdout).toMatch(/>>> c1\.push\(\)\nWallet state out of date\. .*\n.*\nWalletState\(sequence=6,/);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Both devices hold animal=beaver, car=Toyota at sequence 7.');
  }

  it('when run without WALLET_SYNC_URL, then it starts its own server on a temporary SQLite database and ends at sequence 7', async () => {
    const { stdout } = await runDemo({});
    expect(stdout).toContain('on a temporary SQLite database');
    expectWalkthroughOutput(stdout);
  }, 120_000);

  it('when WALLET_SYNC_URL points at a running server, then it plays the walkthrough there', async () => {
    const { stdout } = await runDemo({ WALLET_SYNC_URL: server.url });
    expect(stdout).toContain(`Using the server at ${server.url}`);
    expectWalkthroughOutput(stdout);
  }, 120_000);

  it('when the server cannot be reached, then it reports the failure and exits non-zero', async () => {
    await expect(runDemo({ WALLET_SYNC_URL: 'http://127.0.0.1:9' })).rejects.toMatchObject({ code: 1 });
  }, 120_000);
});
