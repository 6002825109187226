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
    expect(stdout).toContain('\nBoth devices hold animal=beaver, car=Toyota at sequence 7.\n');
    // The undo act: a mistaken edit, then restore() of the state before it.
    expect(stdout).toMatch(/>>> c2\.setPreference\('animal', 'cat'\)\n>>> c2\.sync\(\)\npushed sequence \d+\n/);
    expect(stdout).toMatch(/>>> c1\.restore\(\d+\)\nrestored sequence \d+ as sequence \d+ \(changed back: animal\)\n/);
  }

  const lastLine = (stdout: string) => stdout.trimEnd().split('\n').at(-1);

  it('when run without WALLET_SYNC_URL, then it starts its own server on a temporary SQLite database, plays the walkthrough, heals the server restored from a backup, and undoes a change', async () => {
    const { stdout } = await runDemo({});
    expect(stdout).toContain('on a temporary SQLite database');
    expectWalkthroughOutput(stdout);
    // The restore act: backed up at 7, devices at 9, restored: c1 sees a rollback and heals at 8, c2 a fork.
    expect(stdout).toContain('>>> c1.sync()\npushed sequence 8\ndivergence: rollback (sequence-went-back): this device had seen sequence 9, the server holds sequence 7\n');
    expect(stdout).toContain('>>> c2.sync()\ngot sequence 8\ndivergence: fork (sequence-went-back): this device had seen sequence 9, the server holds sequence 8\n');
    expect(lastLine(stdout)).toBe('Both devices hold animal=beaver, car=Toyota, city=Paris, colour=green at sequence 10.');
  }, 120_000);

  it('when WALLET_SYNC_URL points at a running server, then it plays the walkthrough and the undo there, and skips the restore (not its server)', async () => {
    const { stdout } = await runDemo({ WALLET_SYNC_URL: server.url });
    expect(stdout).toContain(`Using the server at ${server.url}`);
    expectWalkthroughOutput(stdout);
    expect(stdout).toContain('(Skipped: the demo restores a backup only on a server of its own, and WALLET_SYNC_URL is set.)');
    expect(lastLine(stdout)).toBe('Both devices hold animal=beaver, car=Toyota at sequence 9.');
  }, 120_000);

  it('when the server cannot be reached, then it reports the failure and exits non-zero', async () => {
    await expect(runDemo({ WALLET_SYNC_URL: 'http://127.0.0.1:9' })).rejects.toMatchObject({ code: 1 });
  }, 120_000);
});
