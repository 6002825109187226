import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { TEST_ENV } from '../../test-support/test-env';
import { trackProcess } from '../../test-support/server-process';

const ROOT = path.resolve(__dirname, '..', '..');

/** Runs the real entry point (src/index.ts) until it exits: its exit code and everything it wrote. */
function start(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/index.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...TEST_ENV, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackProcess(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

/** A local port that nothing listens on: a database server that is down. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('start-up with a database it cannot use', () => {
  it.each([
    ['an unknown URL scheme', 'ftp://db.example/wallets', /Configuration error: DATABASE_URL: must be one of .*postgres:\/\//],
    ['a postgres:// URL without a database', 'postgres://u@127.0.0.1:5432', /Configuration error: DATABASE_URL: .*must name a database/],
  ])('when DATABASE_URL has %s, then start-up stops (exit 2) with a message naming DATABASE_URL and no stack', async (_case, url, message) => {
    const run = await start({ DATABASE_URL: url });
    expect(run.code).toBe(2);
    expect(run.output).toMatch(message);
    expect(run.output).not.toMatch(/^\s+at /m);
  }, 60_000);

  it.each([
    ['PostgreSQL', 'postgres://wallet:secret-password@127.0.0.1:PORT/wallets'],
    ['MySQL/MariaDB', 'mysql://wallet:secret-password@127.0.0.1:PORT/wallets'],
  ])('when the %s server is down, then start-up stops (exit 1) with a message naming the database and the refusal, no password and no stack', async (title, template) => {
    const port = await closedPort();
    const run = await start({ DATABASE_URL: template.replace('PORT', String(port)) });
    expect(run.code).toBe(1);
    expect(run.output).toContain(`Failed to start: cannot open the ${title} database at 127.0.0.1:${port}/wallets: ECONNREFUSED`);
    expect(run.output).not.toContain('secret-password');
    expect(run.output).not.toMatch(/^\s+at /m);
  }, 60_000);
});
