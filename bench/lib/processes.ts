import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { killStartedProcesses, startProcess, trackProcess } from '../../test-support/server-process';

// Every process the benchmark started is ended on the way out, whatever happens: the shared helper does it on
// exit; an interrupted benchmark exits through here.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killStartedProcesses();
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
  /** CPU time the process has used so far, user + system, in seconds (from /proc). */
  cpuSeconds(): number;
  /** SIGTERM, then SIGKILL if it has not exited in time (a --cpu-prof profile is written on a clean exit). */
  stop(): Promise<void>;
}

/**
 * Starts `node args…` (test-support/server-process.ts: the tests start theirs the same way) and waits until
 * it listens. Its stderr and its output other than routine log lines go to the benchmark's log.
 */
export async function startService(
  name: string,
  args: string[],
  env: Record<string, string>,
  log: (line: string) => void,
  /** For a server that prints no start-up line (LOG_LEVEL=warn): listen on this port and wait for /healthz. */
  port?: number,
): Promise<Service> {
  const service = await startProcess({
    name,
    args,
    env: { ...process.env, ...env },
    startTimeoutMs: 60_000,
    healthPort: port,
    onLine: (line, stream) => {
      if (stream === 'stderr' || (line.trim() && !ROUTINE_LOG_LINE.test(line) && !STARTUP_LINE.test(line))) log(`[${name}] ${line}`);
    },
  });
  return {
    name,
    pid: service.pid,
    origin: service.origin,
    rssMib: () => {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${service.pid}/status`, 'utf8'));
      return match ? Math.round(Number(match[1]) / 1024) : NaN;
    },
    cpuSeconds: () => cpuSeconds(service.pid),
    stop: () => service.stop(15_000),
  };
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime of `pid`: fields 14 and 15 of /proc/PID/stat, counted after the command name's closing parenthesis. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * utime + stime of each PostgreSQL backend connected to `database` now, by process id: every backend's process title
 * names its database (`postgres: [cluster: ]user database host(port) state`), so the benchmark's own database sets its
 * backends apart from any other client of the same server.
 */
export function postgresBackendsCpuSeconds(database: string): Map<number, number> {
  const title = new RegExp(`^postgres: (?:\\S+: )?\\S+ ${database.replace(/\W/g, '\\$&')} `);
  const seconds = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (title.test(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) seconds.set(Number(entry), cpuSeconds(Number(entry)));
    } catch {
      // The process ended meanwhile.
    }
  }
  return seconds;
}

/**
 * The CPU seconds the backends spent between two readings: each backend alive at the second reading counts what it
 * spent since the first (all of it when it started in between). A backend that ended in between took its time with
 * it, so the figure can be low, never negative: subtracting two sums counted an ended backend's whole life against
 * the window (PostgreSQL rows printed ranges such as "-827–79").
 */
export function backendsCpuSpent(from: Map<number, number>, to: Map<number, number>): number {
  let seconds = 0;
  for (const [pid, total] of to) seconds += Math.max(0, total - (from.get(pid) ?? 0));
  return seconds;
}

/** pino's trace, debug and info lines: the server logs one per request, which nobody reads here. */
const ROUTINE_LOG_LINE = /^\{"level":(10|20|30),/;
/** The floor's start-up line (a JSON line with its url), which was never logged either. */
const STARTUP_LINE = /^\{.*"url":"https?:\/\//;

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

/** Runs `node args…` to completion and returns its stdout parsed as JSON (the raw argon2 loop). */
export async function runJson<T>(args: string[], env: Record<string, string> = {}): Promise<T> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  trackProcess(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (out += text));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}`);
  return JSON.parse(out) as T;
}
