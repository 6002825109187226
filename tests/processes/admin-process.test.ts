import { spawn } from 'node:child_process';
import path from 'node:path';
import { useTestServer } from '../helpers/hooks';

/** wallet-sync-admin as an operator runs it: its own process, against a real server's database. */
describe('wallet-sync-admin as its own process', () => {
  const server = useTestServer();

  it('when run as its own process, then the exit code is the command\'s', async () => {
    const run = (...argv: string[]) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/admin/main.ts', ...argv], {
          cwd: path.resolve(__dirname, '..', '..'),
          env: { PATH: process.env.PATH ?? '', DATABASE_URL: server.database.url },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.on('close', (code) => resolve({ code, stdout }));
      });
    const stats = await run('stats', '--json');
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout).stats.accounts).toEqual(expect.any(Number));
    expect((await run('accounts', 'show', 'nobody@example.com')).code).toBe(3);
  }, 180_000); // two processes compiling the sources with ts-node: tens of seconds on a loaded machine
});
