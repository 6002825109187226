import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';

/** Every process the benchmark started; each is ended on the way out, whatever happens. */
const started = new Set<ChildProcess>();

function killAll(): void {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

export interface Service {
  name: string;
  pid: number;
  /** The base URL it listens on, e.g. http://127.0.0.1:40123. */
  origin: string;
  /** Resident memory now, in MiB (from /proc). */
  rssMib(): number;
  /** SIGTERM, then SIGKILL if it has not exited in time (a --cpu-prof profile is written on a clean exit). */
  stop(): Promise<void>;
}

/**
 * Starts `node args…` and waits until it prints a JSON line carrying `url`
 * (the server's pino start-up line, or the floor's). Its stderr and its output
 * other than routine log lines go to the benchmark's log.
 */
export async function startService(
  name: string,
  args: string[],
  env: Record<string, string>,
  log: (line: string) => void,
  /** For a server that prints no start-up line (LOG_LEVEL=warn): listen on this port and wait for /healthz. */
  port?: number,
): Promise<Service> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  child.once('exit', () => started.delete(child));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => log(`[${name}] ${text.trimEnd()}`));

  const origin = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000);
    child.once('exit', (code, signal) => reject(new Error(`${name} exited (${signal ?? code}) before listening`)));
    if (port !== undefined) {
      const healthy = () =>
        fetch(`http://127.0.0.1:${port}/healthz`)
          .then((response) => (response.ok ? (clearTimeout(timer), resolve(`http://127.0.0.1:${port}`)) : retry()))
          .catch(retry);
      const retry = () => void setTimeout(healthy, 100);
      healthy();
    }
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      buffer += text;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const url = parseUrl(line);
        if (url) {
          clearTimeout(timer);
          resolve(new URL(url).origin);
        } else if (line.trim() && !ROUTINE_LOG_LINE.test(line)) log(`[${name}] ${line}`);
      }
    });
  });

  return {
    name,
    pid: child.pid!,
    origin,
    rssMib: () => {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return match ? Math.round(Number(match[1]) / 1024) : NaN;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** pino's trace, debug and info lines: the server logs one per request, which nobody reads here. */
const ROUTINE_LOG_LINE = /^\{"level":(10|20|30),/;

/** A port free on loopback right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

function parseUrl(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const url = (JSON.parse(line) as { url?: unknown }).url;
    return typeof url === 'string' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `node args…` to completion and returns its stdout parsed as JSON (the raw argon2 loop). */
export async function runJson<T>(args: string[], env: Record<string, string> = {}): Promise<T> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  started.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (out += text));
  const [code] = (await once(child, 'exit')) as [number | null];
  started.delete(child);
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}`);
  return JSON.parse(out) as T;
}
