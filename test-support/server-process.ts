import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { TEST_ENV } from './test-env';
import { apiAt, type GraphQLApi } from './graphql-http';

/**
 * "Start a server process and wait for it", once, for the tests and the
 * benchmark: `node args…` is up when it prints a JSON line carrying an
 * absolute `url` (the server's pino start-up line, or the floor's), or, with
 * `healthPort`, when http://127.0.0.1:port/healthz answers 200 (a server that
 * logs no start-up line). No process outlives the one that started it.
 */
export interface StartedProcess {
  pid: number;
  /** The origin it listens on, e.g. http://127.0.0.1:40123. */
  origin: string;
  /** Sends a signal; `exited` then tells how the process ended. */
  signal(signal: NodeJS.Signals): void;
  /** The exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ProcessOptions {
  /** Named in errors. */
  name: string;
  /** node's arguments: the entry point, with any node flags before it. */
  args: string[];
  /** The whole environment of the process (nothing is inherited that is not here). */
  env: Record<string, string | undefined>;
  cwd?: string;
  startTimeoutMs?: number;
  healthPort?: number;
  /** Every line the process writes, as it comes; the start-up line included. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

const started = new Set<ChildProcess>();

/** Kills every process started here that is still running (SIGKILL). Runs by itself when this process exits. */
export function killStartedProcesses(): void {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.once('exit', killStartedProcesses);

/** For a process that is not a server (one that runs to completion): killed on the way out like the others. */
export function trackProcess(child: ChildProcess): void {
  started.add(child);
  child.once('exit', () => started.delete(child));
}

/** How much of the process's stderr an error message quotes at most. */
const STDERR_KEPT = 8192;

export async function startProcess(options: ProcessOptions): Promise<StartedProcess> {
  const { name, startTimeoutMs = 30_000 } = options;
  const child = spawn(process.execPath, options.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  trackProcess(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  let onStartLine: ((line: string) => void) | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    options.onLine?.(line, 'stdout');
    onStartLine?.(line);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr = `${stderr}${line}\n`.slice(-STDERR_KEPT);
    options.onLine?.(line, 'stderr');
  });

  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not listen within ${startTimeoutMs} ms: ${stderr}`)), startTimeoutMs);
    const up = (origin: string) => {
      clearTimeout(timer);
      onStartLine = undefined;
      resolve(origin);
    };
    child.once('exit', (code, signal) => reject(new Error(`${name} exited (${signal ?? code}) before listening: ${stderr}`)));
    onStartLine = (line) => {
      const url = startUrl(line);
      if (url) up(url.origin);
    };
    if (options.healthPort !== undefined) {
      const origin = `http://127.0.0.1:${options.healthPort}`;
      const poll = (): void =>
        void fetch(`${origin}/healthz`)
          .then((response) => (response.ok ? up(origin) : retry()))
          .catch(retry);
      const retry = () => void (child.exitCode === null && setTimeout(poll, 100));
      poll();
    }
  }).catch(async (error) => {
    child.kill('SIGKILL');
    await exited;
    throw error;
  });

  return {
    pid: child.pid!,
    origin,
    signal: (signal) => child.kill(signal),
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** The absolute URL a JSON log line carries, if any (request lines carry a path, which is not one). */
function startUrl(line: string): URL | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const url = (JSON.parse(line) as { url?: unknown }).url;
    return typeof url === 'string' && /^https?:\/\//.test(url) ? new URL(url) : undefined;
  } catch {
    return undefined;
  }
}

/** A server run as its own process, through the real entry point (src/index.ts). */
export interface ServerProcess {
  url: string;
  pid: number;
  gql: GraphQLApi['gql'];
  /** Everything the process wrote, stdout and stderr. */
  output(): string;
  /** Sends a signal; `exited` then tells how the process ended. */
  signal(signal: NodeJS.Signals): void;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const ROOT = path.resolve(__dirname, '..');

/**
 * Starts the server with TEST_ENV and `env` on a free port and resolves once it listens: `src/index.ts`
 * through ts-node, or with `entry: 'built'` the build's `dist/src/index.js` as `npm start` runs it (for
 * measuring memory, where the TypeScript compiler loaded by ts-node would count).
 */
export async function startServerProcess(
  env: Record<string, string>,
  startTimeoutMs = 30_000,
  entry: 'source' | 'built' = 'source',
): Promise<ServerProcess> {
  const output: string[] = [];
  const server = await startProcess({
    name: 'server process',
    args: entry === 'built' ? ['dist/src/index.js'] : ['-r', 'ts-node/register/transpile-only', 'src/index.ts'],
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...TEST_ENV, LOG_LEVEL: 'info', ...env },
    startTimeoutMs,
    onLine: (line) => output.push(`${line}\n`),
  });
  return {
    url: server.origin,
    pid: server.pid,
    ...apiAt(server.origin),
    output: () => output.join(''),
    signal: server.signal,
    exited: server.exited,
    stop: () => server.stop(),
  };
}
