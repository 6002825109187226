import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { TEST_ENV, postGraphQL, type TestServer } from './app';

/** A server run as its own process, through the real entry point (src/index.ts). */
export interface ServerProcess {
  url: string;
  pid: number;
  gql: TestServer['gql'];
  /** Everything the process wrote, stdout and stderr. */
  output(): string;
  /** Sends a signal; `exited` then tells how the process ended. */
  signal(signal: NodeJS.Signals): void;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// Whatever happens to the test process, no server outlives it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const ROOT = path.resolve(__dirname, '..', '..');

/** Starts `node src/index.ts` with `env` on a free port and resolves once it listens. */
export async function startServerProcess(env: Record<string, string>, startTimeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/index.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...TEST_ENV, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => running.delete(child));
  const stderr: string[] = [];
  const output: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString());
    output.push(chunk.toString());
  });
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server process did not listen within ${startTimeoutMs} ms: ${stderr.join('')}`)), startTimeoutMs);
    child.once('exit', (code) => reject(new Error(`server process exited with ${code} before listening: ${stderr.join('')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'wallet sync server listening' && entry.url) {
          clearTimeout(timer);
          resolve(entry.url.replace(/\/graphql$/, ''));
        }
      } catch {
        // Not a log line of ours.
      }
    });
  }).catch(async (error) => {
    child.kill('SIGKILL');
    await exited;
    throw error;
  });

  return {
    url,
    pid: child.pid!,
    gql: (query, variables, token) => postGraphQL(url, query, variables, token),
    output: () => output.join(''),
    signal: (signal) => child.kill(signal),
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}
