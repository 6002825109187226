/**
 * npm run bench:subscriptions [-- --connections 10000 --updates 2000 --devices 2 --events state|sequence]
 *
 * Starts the built server as a process (dist/src/index.js, as `npm start` runs it, on a
 * SQLite file on tmpfs, RATE_LIMITS=off, cheap argon2 as in the tests), opens `connections` graphql-ws subscriptions to
 * it from this process (`devices` per account), fires `updates` wallet updates
 * through HTTP, and prints the delivery latency (from sending the mutation to a
 * subscriber receiving the event, over every delivery), the fan-out alone (from the
 * write's answer to the event's arrival) and the server's RSS per
 * 1,000 connections. Each subscription selects the state with every event
 * (`--events state`, protocol 3, the default) or the sequence alone. Loopback only; stops by itself (and kills the server) after
 * at most --max-seconds. BENCH_NODE_OPTIONS, when set, is the server's NODE_OPTIONS
 * (e.g. --heapsnapshot-signal=SIGUSR2 to see where a connection's memory goes).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { login, register, upload, type Device } from '../test-support/operations';
import { startServerProcess, type ServerProcess } from '../test-support/server-process';
import { WALLET_UPDATED, WALLET_UPDATED_WITH_STATE, connectLive, type LiveClient } from '../test-support/subscriptions';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '10000' },
    updates: { type: 'string', default: '2000' },
    devices: { type: 'string', default: '2' },
    'max-seconds': { type: 'string', default: '600' },
    events: { type: 'string', default: 'state' },
  },
});
if (values.events !== 'state' && values.events !== 'sequence') throw new Error(`--events: state or sequence, not "${values.events}"`);
const EVENT_QUERY = values.events === 'state' ? WALLET_UPDATED_WITH_STATE : WALLET_UPDATED;
const CONNECTIONS = Number(values.connections);
const UPDATES = Number(values.updates);
const DEVICES = Number(values.devices);
const MAX_SECONDS = Number(values['max-seconds']);
const SETUP_CONCURRENCY = 32;
const CONNECT_BATCH = 500;
const UPDATE_CONCURRENCY = 16;

interface Subscriber {
  client: LiveClient;
  accountIndex: number;
}

async function main(): Promise<void> {
  checkFileLimit(CONNECTIONS + 500);
  const accounts = Math.ceil(CONNECTIONS / DEVICES);
  const dataDir = mkdtempSync(path.join(existsDir('/dev/shm') ?? tmpdir(), 'wallet-sync-bench-'));
  let server: ServerProcess | undefined;
  const deadline = setTimeout(() => {
    console.error(`bench: still running after ${MAX_SECONDS} s: giving up`);
    void server?.stop().finally(() => process.exit(1));
  }, MAX_SECONDS * 1000);
  deadline.unref();

  try {
    // The built server, as `npm start` runs it: its memory is what is measured.
    const nodeOptions: Record<string, string> = process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {};
    server = await startServerProcess({ DATABASE_URL: `sqlite:${path.join(dataDir, 'bench.sqlite')}`, ...nodeOptions }, 60_000, 'built');
    log(`server pid ${server.pid} at ${server.url}; ${accounts} accounts × ${DEVICES} devices = ${CONNECTIONS} connections; events carry ${values.events === 'state' ? 'the state' : 'the sequence alone'}`);

    // Accounts, devices and a first wallet (sequence 1), so each subscription confirms itself with the catch-up event.
    let started = performance.now();
    const devices: Device[][] = new Array(accounts);
    await forEachLimited(accounts, SETUP_CONCURRENCY, async (i) => {
      const { email, password } = await register(server!);
      const own: Device[] = [];
      for (let d = 0; d < DEVICES && i * DEVICES + d < CONNECTIONS; d++) own.push(await login(server!, email, password, `device-${d}`));
      await upload(server!, own[0], 1);
      devices[i] = own;
    });
    log(`set up ${accounts} accounts in ${seconds(started)} s`);

    const rssBefore = await restingRssKib(server.pid);
    started = performance.now();
    const arrivals = new Map<string, number[]>(); // `${account}:${sequence}` → receive times
    const subscribers: Subscriber[] = [];
    const all = devices.flatMap((own, accountIndex) => own.map((device) => ({ device, accountIndex })));
    for (let i = 0; i < all.length; i += CONNECT_BATCH) {
      await Promise.all(all.slice(i, i + CONNECT_BATCH).map(({ device, accountIndex }) => subscribe(server!.url, device, accountIndex, arrivals, subscribers)));
    }
    log(`${subscribers.length} subscriptions in effect after ${seconds(started)} s`);
    const rssOpened = serverRssKib(server.pid);
    const rssAfter = await restingRssKib(server.pid);

    // Updates on accounts picked round-robin, never two at once on one account; each fans out to its devices.
    const sent = new Map<string, number>();
    const acknowledged = new Map<string, number>();
    const nextSequence = new Array<number>(accounts).fill(2);
    started = performance.now();
    await forEachLimited(UPDATES, UPDATE_CONCURRENCY, async (n) => {
      const accountIndex = (n * 7919) % accounts;
      const sequence = nextSequence[accountIndex]++;
      const key = `${accountIndex}:${sequence}`;
      sent.set(key, performance.now());
      const result = await upload(server!, devices[accountIndex][0], sequence);
      acknowledged.set(key, performance.now());
      if (result.__typename !== 'WalletStateSuccess') throw new Error(`update ${key} was not accepted`);
    }, (n) => (n * 7919) % accounts);
    const expected = [...sent.keys()].reduce((sum, key) => sum + devices[Number(key.split(':')[0])].length, 0);
    const waitUntil = Date.now() + 10_000;
    while (countArrivals(arrivals, sent) < expected && Date.now() < waitUntil) await new Promise((resolve) => setTimeout(resolve, 20));
    const updateSeconds = seconds(started);

    const latencies: number[] = [];
    for (const [key, t0] of sent) for (const t of arrivals.get(key) ?? []) latencies.push(t - t0);
    latencies.sort((x, y) => x - y);
    // The fan-out alone: how long after the write's answer reached its device the other devices had the event (0 when before).
    const fanOut: number[] = [];
    for (const [key, t0] of acknowledged) for (const t of arrivals.get(key) ?? []) fanOut.push(Math.max(0, t - t0));
    fanOut.sort((x, y) => x - y);
    const duplicates = [...sent.keys()].filter((key) => (arrivals.get(key)?.length ?? 0) > devices[Number(key.split(':')[0])].length).length;

    const perThousand = (rssAfter - rssBefore) / (subscribers.length / 1000);
    console.log('');
    console.log(`connections (each with one walletUpdated subscription): ${subscribers.length} of ${CONNECTIONS} requested`);
    console.log(`updates: ${sent.size} in ${updateSeconds} s, ${UPDATE_CONCURRENCY} in flight; deliveries: ${latencies.length} of ${expected} expected; duplicates: ${duplicates}`);
    console.log(`delivery latency (mutation sent → event received): p50 ${ms(percentile(latencies, 0.5))} ms, p99 ${ms(percentile(latencies, 0.99))} ms, max ${ms(latencies.at(-1))} ms`);
    console.log(`fan-out (write acknowledged → event received, 0 when the event came first): p50 ${ms(percentile(fanOut, 0.5))} ms, p99 ${ms(percentile(fanOut, 0.99))} ms, max ${ms(fanOut.at(-1))} ms`);
    console.log(`server RSS at rest: ${mib(rssBefore)} MiB before the connections, ${mib(rssAfter)} MiB with them: ${mib(perThousand)} MiB per 1,000 connections`);
    console.log(`server RSS right after the last connection opened (garbage of the set-up not yet given back): ${mib(rssOpened)} MiB; peak RSS over the run: ${mib(serverRssKib(server.pid, 'VmHWM'))} MiB`);

    disposing = true;
    await Promise.all(subscribers.map((s) => s.client.dispose()));
    if (latencies.length < expected) process.exitCode = 1;
  } finally {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Resolves once the subscription is in effect (its catch-up event came); later events are timed into `arrivals`. */
async function subscribe(baseUrl: string, device: Device, accountIndex: number, arrivals: Map<string, number[]>, subscribers: Subscriber[]): Promise<void> {
  const client = connectLive(baseUrl, device.token);
  let confirmed = false;
  const subscription = client.subscribe(
    0,
    (sequence) => {
      if (!confirmed) return;
      const key = `${accountIndex}:${sequence}`;
      const list = arrivals.get(key) ?? [];
      list.push(performance.now());
      arrivals.set(key, list);
    },
    EVENT_QUERY,
  );
  try {
    await subscription.next(60_000);
  } catch (error) {
    void client.dispose();
    throw new Error(describe(error));
  }
  confirmed = true;
  subscribers.push({ client, accountIndex });
  void subscription.ended.then((reason) => {
    if (!disposing) log(`subscription of account ${accountIndex} ended: ${describe(reason)}`);
  });
}

/** Set once the benchmark closes its connections on purpose, so those closes are not reported. */
let disposing = false;

/** Runs `task(0..count-1)` with at most `limit` at once; with `keyOf`, never two tasks of one key at once. */
async function forEachLimited(count: number, limit: number, task: (i: number) => Promise<void>, keyOf?: (i: number) => number): Promise<void> {
  let next = 0;
  const busy = new Set<number>();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const key = keyOf?.(i);
      while (key !== undefined && busy.has(key)) await new Promise((resolve) => setTimeout(resolve, 1));
      if (key !== undefined) busy.add(key);
      try {
        await task(i);
      } finally {
        if (key !== undefined) busy.delete(key);
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

function countArrivals(arrivals: Map<string, number[]>, sent: Map<string, number>): number {
  let total = 0;
  for (const key of sent.keys()) total += arrivals.get(key)?.length ?? 0;
  return total;
}

function serverRssKib(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error('no VmRSS in /proc: this benchmark reads the server RSS the Linux way');
  return Number(match[1]);
}

/**
 * The server's RSS once it has been idle long enough for V8 to give back the
 * garbage of what came before (its memory reducer runs after some seconds
 * without allocation): read every 2 s for at least 12 s, until three readings
 * agree within 1 MiB, at most 40 s. What a server holding the connections
 * costs, rather than the leftovers of the set-up that just ran.
 */
async function restingRssKib(pid: number): Promise<number> {
  const readings: number[] = [];
  const started = performance.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    readings.push(serverRssKib(pid));
    const last = readings.slice(-3);
    const steady = last.length === 3 && Math.max(...last) - Math.min(...last) < 1024;
    if ((steady && performance.now() - started >= 12_000) || performance.now() - started >= 40_000) return readings.at(-1)!;
  }
}

/** Each connection is a socket in this process and one in the server: both need a file descriptor. */
function checkFileLimit(needed: number): void {
  const match = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  const soft = match && match[1] !== 'unlimited' ? Number(match[1]) : Infinity;
  if (soft < needed) {
    throw new Error(`the open-file limit is ${soft}, ${needed} are needed: raise it (ulimit -n ${needed}; the npm script raises it to the hard limit) or pass fewer --connections`);
  }
}

function existsDir(dir: string): string | undefined {
  return statSync(dir, { throwIfNoEntry: false })?.isDirectory() ? dir : undefined;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);
const ms = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(1));
const mib = (kib: number) => (kib / 1024).toFixed(1);
const log = (message: string) => console.log(`bench: ${message}`);
const describe = (error: unknown) => (error instanceof Error ? error.message : JSON.stringify((error as { code?: number }).code ?? error));

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
