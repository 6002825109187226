/**
 * `npm run bench`: the real server against its floor, side by side, on embedded
 * SQLite, on MariaDB and on PostgreSQL. See docs/benchmarks.md for what is
 * measured and how to read the table. Everything runs on loopback; every
 * process and database the run creates is gone when it ends, even on failure.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sqliteDriver } from '../src/db/dialects/sqlite-driver';
import mysql from 'mysql2/promise';
import { Client } from 'pg';
import { defaultArgon2Concurrency } from '../src/config';
import { operationText, type Operation } from '../test-support/graphql-http';
import { createTestDatabase, type TestDatabase } from '../test-support/database';
import { LoginDocument, RegisterDocument, WalletStateDocument } from '../test-support/operations.generated';
import { runLoad, runSocketLoad, type Connection, type LoadResult, type SocketConnection } from './lib/load';
import { backendsCpuSpent, freePort, postgresBackendsCpuSeconds, runJson, startService, type Service } from './lib/processes';
import { startWatchers } from './lib/watchers';
import { markdownTable, summarize, type Comparison, type Measurement } from './lib/report';

const Sqlite = sqliteDriver();

/** The repository: this file runs compiled, from dist/bench/. */
const ROOT = path.resolve(__dirname, '..', '..');
const SERVER_ENTRY = path.join(ROOT, 'dist', 'src', 'index.js');
const FLOOR_ENTRY = path.join(__dirname, 'floor.js');
const CEILING_ENTRY = path.join(__dirname, 'ceiling.js');

const USAGE = `npm run bench -- [options]   (each option also as an environment variable)
  --quick                 1 round of 2 s after 0.5 s warm-up: checks the harness, not a result  (BENCH_QUICK=1)
  --rounds N              A,B rounds per scenario (default 3)                                   (BENCH_ROUNDS)
  --duration S            measured seconds per run (default 4)                                  (BENCH_DURATION)
  --warmup S              unmeasured seconds before each run (default 1)                        (BENCH_WARMUP)
  --databases LIST        sqlite,mariadb,postgres (default all)                                 (BENCH_DATABASES)
  --scenarios LIST        read,socket,ceiling,logging,write,race,history,login,storm,sync (default all) (BENCH_SCENARIOS)
  --mysql URL             the MariaDB server (default mysql://root@127.0.0.1:3306/)             (BENCH_MYSQL_URL)
  --postgres URL          the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres) (BENCH_POSTGRES_URL)
  --log-level LEVEL       the server's LOG_LEVEL (default info, as in production: a line per request) (BENCH_LOG_LEVEL)
  --profile               server and floor under --cpu-prof, to bench/results/profiles       (BENCH_PROFILE=1)
  --out DIR               where latest.json and latest.md go (default bench/results)            (BENCH_OUT)
  --render FILE           measure nothing: write the table again from a latest.json`;

type DatabaseKind = 'sqlite' | 'mariadb' | 'postgres';

interface Options {
  rounds: number;
  durationMs: number;
  warmupMs: number;
  databases: DatabaseKind[];
  scenarios: Set<string>;
  mysqlUrl: string;
  postgresUrl: string;
  profile: boolean;
  logLevel: string;
  out: string;
  render: string | undefined;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      databases: { type: 'string' },
      scenarios: { type: 'string' },
      mysql: { type: 'string' },
      postgres: { type: 'string' },
      profile: { type: 'boolean' },
      'log-level': { type: 'string' },
      out: { type: 'string' },
      render: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const env = process.env;
  const quick = values.quick ?? env.BENCH_QUICK === '1';
  const number = (value: string | undefined, fallback: number, name: string) => {
    const n = value === undefined || value === '' ? fallback : Number(value);
    if (!(n > 0)) throw new Error(`${name} must be a positive number, got "${value}"`);
    return n;
  };
  const list = (value: string | undefined, allowed: string[], name: string) => {
    const items = (value ?? allowed.join(',')).split(',').filter(Boolean);
    for (const item of items) if (!allowed.includes(item)) throw new Error(`${name}: unknown "${item}" (one of ${allowed.join(', ')})`);
    return items;
  };
  return {
    rounds: number(values.rounds ?? env.BENCH_ROUNDS, quick ? 1 : 3, '--rounds'),
    durationMs: 1000 * number(values.duration ?? env.BENCH_DURATION, quick ? 2 : 4, '--duration'),
    warmupMs: 1000 * number(values.warmup ?? env.BENCH_WARMUP, quick ? 0.5 : 1, '--warmup'),
    databases: list(values.databases ?? env.BENCH_DATABASES, ['sqlite', 'mariadb', 'postgres'], '--databases') as Options['databases'],
    scenarios: new Set(list(values.scenarios ?? env.BENCH_SCENARIOS, ['read', 'socket', 'ceiling', 'logging', 'write', 'race', 'history', 'login', 'storm', 'sync'], '--scenarios')),
    mysqlUrl: values.mysql ?? env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/',
    postgresUrl: values.postgres ?? env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    profile: values.profile ?? env.BENCH_PROFILE === '1',
    logLevel: values['log-level'] ?? env.BENCH_LOG_LEVEL ?? 'info',
    out: path.resolve(values.out ?? env.BENCH_OUT ?? path.join(ROOT, 'bench', 'results')),
    render: values.render,
  };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Accounts for the read and write scenarios; the first RACE_ACCOUNTS also get 4 devices each. */
const ACCOUNTS = 64;
const DEVICES_PER_RACING_ACCOUNT = 4;
const RACE_ACCOUNTS = 64 / DEVICES_PER_RACING_ACCOUNT;
const LOGIN_CONNECTIONS = 4;
const PASSWORD = 'w/MTRV/o3pAYF6uPCGMRZS7zzu5Sr0jyv/9ui8+zlLE=';
/** A 10 KB wallet, as an encrypted wallet looks: base64. */
const WALLET = randomBytes(7680).toString('base64');

const CHEAP_ARGON2 = { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1', ARGON2_PARALLELISM: '1' };
/** The production parameters (config.ts defaults), spelled out so that the login figures say what they measured. */
const PRODUCTION_ARGON2 = { ARGON2_MEMORY_KIB: '19456', ARGON2_TIME_COST: '2', ARGON2_PARALLELISM: '1' };

const UPDATE = `mutation Update($input: WalletStateInput!) { updateWalletState(input: $input) { __typename ... on WalletStateSuccess { walletState { sequence } } ... on WalletStateConflict { latest { sequence } } } }`;
const READ_BODY = JSON.stringify({ query: operationText(WalletStateDocument) });
const READ_PREFIX = '{"data":{"walletState":{"encryptedWallet":';

const jsonHeaders = (token?: string): Record<string, string> => ({
  'content-type': 'application/json',
  ...(token ? { authorization: `Bearer ${token}` } : {}),
});

/** One GraphQL call for seeding; any error stops the benchmark. */
async function call<T>(origin: string, operation: Operation<T>, variables: Record<string, unknown>, token?: string): Promise<T> {
  const response = await fetch(`${origin}/graphql`, { method: 'POST', headers: jsonHeaders(token), body: JSON.stringify({ query: operationText(operation), variables }) });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (response.status !== 200 || body.errors || !body.data) throw new Error(`seeding failed: ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
  return body.data;
}

/** Runs `work` over `items`, `width` at a time. */
async function eachLimited<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

interface Account {
  id: number;
  email: string;
  /** tokens[d] is device d+1's token. */
  tokens: string[];
}

/** Registers and logs in through the real API, then uploads each account's 10 KB wallet at sequence 1. */
async function seed(origin: string, db: Inspector, prefix: string, count: number, devicesOf: (i: number) => number, wallet: boolean): Promise<Account[]> {
  const accounts: Account[] = Array.from({ length: count }, (_, i) => ({ id: 0, email: `${prefix}-${i}@example.com`, tokens: [] }));
  await eachLimited(accounts, 8, async (account) => {
    const i = accounts.indexOf(account);
    await call(origin, RegisterDocument, { input: { email: account.email, password: PASSWORD, clientSaltSeed: randomBytes(32).toString('hex') } });
    for (let d = 0; d < devicesOf(i); d += 1) {
      const { login } = await call(origin, LoginDocument, { input: { email: account.email, password: PASSWORD, deviceId: `device-${d + 1}` } });
      account.tokens.push(login.token);
    }
    if (wallet) await call(origin, UPDATE, { input: { encryptedWallet: WALLET, sequence: 1, hmac: 'seed' } }, account.tokens[0]);
  });
  const ids = await db.accountIds();
  for (const account of accounts) account.id = ids.get(account.email)!;
  return accounts;
}

/** Reads the benchmark's database directly, behind both targets' backs: the durability check. */
interface Inspector {
  accountIds(): Promise<Map<string, number>>;
  sequences(): Promise<Map<number, number>>;
  /** How many wallet history headers each account has. */
  headers(): Promise<Map<number, number>>;
  close(): Promise<void>;
}

const HEADERS_SQL = 'SELECT account_id AS id, COUNT(*) AS n FROM wallet_versions GROUP BY account_id';

async function openInspector(database: TestDatabase): Promise<Inspector> {
  if (database.dialect === 'sqlite') {
    const db = new Sqlite(database.url.replace(/^sqlite:/, ''), { readonly: true });
    return {
      accountIds: async () => new Map(db.prepare<[], { email: string; id: number }>('SELECT email, id FROM accounts').all().map((r) => [r.email, r.id])),
      sequences: async () =>
        new Map(db.prepare<[], { id: number; sequence: number }>('SELECT account_id AS id, sequence FROM wallets').all().map((r) => [r.id, r.sequence])),
      headers: async () => new Map(db.prepare<[], { id: number; n: number }>(HEADERS_SQL).all().map((r) => [r.id, r.n])),
      close: async () => void db.close(),
    };
  }
  if (database.dialect === 'postgres') {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    const rows = async (sql: string) => (await client.query(sql)).rows as Array<Record<string, unknown>>;
    return {
      accountIds: async () => new Map((await rows('SELECT email, id FROM accounts')).map((r) => [r.email as string, Number(r.id)])),
      sequences: async () => new Map((await rows('SELECT account_id AS id, sequence FROM wallets')).map((r) => [Number(r.id), Number(r.sequence)])),
      headers: async () => new Map((await rows(HEADERS_SQL)).map((r) => [Number(r.id), Number(r.n)])),
      close: () => client.end(),
    };
  }
  const connection = await mysql.createConnection(database.url);
  return {
    async accountIds() {
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT email, id FROM accounts');
      return new Map(rows.map((r) => [r.email as string, r.id as number]));
    },
    async sequences() {
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT account_id AS id, sequence FROM wallets');
      return new Map(rows.map((r) => [r.id as number, r.sequence as number]));
    },
    async headers() {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(HEADERS_SQL);
      return new Map(rows.map((r) => [r.id as number, Number(r.n)]));
    },
    close: () => connection.end(),
  };
}

function readConnection(token: string): Connection {
  return {
    headers: jsonHeaders(token),
    body: () => READ_BODY,
    answer: (text) => (text.startsWith(READ_PREFIX) ? 'ok' : 'graphqlError'),
  };
}

/**
 * A device uploading: it starts at the stored sequence + 1, moves on by one after
 * each success, and after a conflict retries at the winner's sequence + 1, as a
 * client does after merging. Every wallet it sends is distinct, so a success is
 * always a write that landed (never the idempotent re-send of the current state).
 */
function writeConnection(index: number, account: Account, token: string, stored: number, acked: Map<number, number>): Connection {
  let sequence = stored + 1;
  const prefix = `{"query":${JSON.stringify(UPDATE)},"variables":{"input":{"encryptedWallet":"c${index}s`;
  return {
    headers: jsonHeaders(token),
    body: () => `${prefix}${sequence}:${WALLET}","sequence":${sequence},"hmac":"c${index}s${sequence}"}}}`,
    answer(text) {
      const body = JSON.parse(text) as { data?: { updateWalletState?: { __typename: string; latest?: { sequence: number } | null } }; errors?: unknown };
      const result = body.data?.updateWalletState;
      if (body.errors || !result) return 'graphqlError';
      if (result.__typename === 'WalletStateSuccess') {
        acked.set(account.id, (acked.get(account.id) ?? 0) + 1);
        sequence += 1;
        return 'ok';
      }
      sequence = (result.latest?.sequence ?? 0) + 1;
      return 'conflict';
    },
  };
}

const READ_QUERY = operationText(WalletStateDocument);

/** The same read as readConnection, over the device's live connection. */
function socketReadConnection(token: string): SocketConnection {
  return {
    token,
    operation: () => ({ query: READ_QUERY }),
    answer: (result) => ((result.data as { walletState?: unknown } | undefined)?.walletState && !result.errors ? 'ok' : 'graphqlError'),
  };
}

/** writeConnection over the live connection: the same device, the same wallets, the same handling of conflicts. */
function socketWriteConnection(index: number, account: Account, token: string, stored: number, acked: Map<number, number>): SocketConnection {
  const http = writeConnection(index, account, token, stored, acked);
  return {
    token,
    // The HTTP body is built for the wire; the socket sends the same operation as an object.
    operation: () => JSON.parse(http.body()) as { query: string; variables: Record<string, unknown> },
    answer: (result) => http.answer(JSON.stringify(result)),
  };
}

function loginConnection(account: Account): Connection {
  const body = JSON.stringify({ query: operationText(LoginDocument), variables: { input: { email: account.email, password: PASSWORD, deviceId: 'bench-login' } } });
  return { headers: jsonHeaders(), body: () => body, answer: (text) => (text.includes('"token":"') ? 'ok' : 'graphqlError') };
}

class Bench {
  readonly comparisons: Comparison[] = [];
  /** The database's own CPU seconds so far per process, where they can be told apart (PostgreSQL: the run's database's backends). */
  databaseCpuSeconds: (() => Map<number, number>) | undefined;

  constructor(readonly options: Options) {}

  /** One run over HTTP against one target. */
  measure(service: Service, connections: number, connection: (i: number) => Connection): Promise<Measurement> {
    return this.measureLoad(service, (window) => runLoad({ origin: service.origin, connections, connection, ...window }));
  }

  /** One run over the live connection (graphql-ws) against one target. */
  measureSocket(service: Service, connections: number, connection: (i: number) => SocketConnection): Promise<Measurement> {
    return this.measureLoad(service, (window) => runSocketLoad({ origin: service.origin, connections, connection, ...window }));
  }

  /** One run, with the target's peak RSS sampled alongside and its CPU time over the measured window. */
  private async measureLoad(service: Service, load: (window: { warmupMs: number; durationMs: number }) => Promise<LoadResult>): Promise<Measurement> {
    const { warmupMs, durationMs } = this.options;
    let rssMib = service.rssMib();
    const sampler = setInterval(() => (rssMib = Math.max(rssMib, service.rssMib())), 250);
    const database = this.databaseCpuSeconds;
    const cpu = { from: NaN, to: NaN, databaseFrom: new Map<number, number>(), databaseTo: new Map<number, number>() };
    const mark = (end: 'from' | 'to') => {
      cpu[end] = service.cpuSeconds();
      if (database) cpu[end === 'from' ? 'databaseFrom' : 'databaseTo'] = database();
    };
    const marks = [setTimeout(() => mark('from'), warmupMs), setTimeout(() => mark('to'), warmupMs + durationMs)];
    try {
      const result = await load({ warmupMs, durationMs });
      // The last requests end just after the window: the mark may not have fired yet.
      if (Number.isNaN(cpu.to)) mark('to');
      const perOp = (seconds: number) => (seconds * 1e6) / result.requests;
      return {
        ...result,
        rssMib: Math.max(rssMib, service.rssMib()),
        cpuUsPerOp: perOp(cpu.to - cpu.from),
        ...(database ? { databaseCpuUsPerOp: perOp(backendsCpuSpent(cpu.databaseFrom, cpu.databaseTo)) } : {}),
      };
    } finally {
      clearInterval(sampler);
      marks.forEach(clearTimeout);
    }
  }

  /** A and B alternately (A, B, A, B, …), then the comparison is kept and printed. */
  async compare(base: Omit<Comparison, 'rounds'>, runA: () => Promise<Measurement>, runB: () => Promise<Measurement>): Promise<void> {
    const comparison: Comparison = { ...base, rounds: [] };
    for (let round = 1; round <= this.options.rounds; round += 1) {
      const a = await runA();
      const b = await runB();
      comparison.rounds.push({ a, b });
      log(`  ${base.database} ${base.scenario} ×${base.connections} round ${round}: ${base.a} ${describe(a)} | ${base.b} ${describe(b)}`);
      for (const sample of [...a.samples, ...b.samples]) log(`    e.g. ${sample}`);
    }
    this.comparisons.push(comparison);
  }
}

function describe(m: Measurement): string {
  const errors = m.non2xx + m.graphqlErrors + m.networkErrors;
  return `${Math.round(m.rps)} req/s p99 ${m.p99Ms} ms${m.conflicts ? ` ${m.conflicts} conflicts` : ''}${errors ? ` ${errors} errors` : ''}${m.lostUpdates ? ` ${m.lostUpdates} LOST` : ''}, CPU ${Math.round(m.cpuUsPerOp ?? NaN)} µs/op${
    m.databaseCpuUsPerOp === undefined ? '' : ` (database ${Math.round(m.databaseCpuUsPerOp)})`
  }`;
}

/** `entry`'s node arguments: under --profile, with --cpu-prof writing `label`-….cpuprofile to bench/results/profiles. */
function nodeArgs(options: Options, entry: string, label: string): string[] {
  if (!options.profile) return [entry];
  const dir = path.join(options.out, 'profiles');
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${label}-${Date.now()}.cpuprofile`, entry];
}

function serverEnv(options: Options, databaseUrl: string, argon2: Record<string, string>): Record<string, string> {
  return { NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', DATABASE_URL: databaseUrl, RATE_LIMITS: 'off', LOG_LEVEL: options.logLevel, ...argon2 };
}

/** Every scenario on one database, on a database created for this run and dropped after it. */
async function runDatabase(bench: Bench, kind: DatabaseKind): Promise<void> {
  const { options } = bench;
  const has = (s: string) => options.scenarios.has(s);
  const database = await createTestDatabase({ sqlite: undefined, mariadb: options.mysqlUrl, postgres: options.postgresUrl }[kind]);
  const services: Service[] = [];
  const start = async (name: string, args: string[], env: Record<string, string>) => {
    // A server that logs below info prints no start-up line: it gets a port, and is ready when /healthz answers.
    const quiet = env.LOG_LEVEL !== undefined && !['trace', 'debug', 'info'].includes(env.LOG_LEVEL);
    const port = quiet ? await freePort() : undefined;
    const service = await startService(name, args, port === undefined ? env : { ...env, PORT: String(port) }, log, port);
    services.push(service);
    return service;
  };
  let inspector: Inspector | undefined;
  // Only PostgreSQL's work can be told apart: one backend process per connection, titled with its database.
  const databaseName = kind === 'postgres' ? new URL(database.url).pathname.slice(1) : undefined;
  bench.databaseCpuSeconds = databaseName ? () => postgresBackendsCpuSeconds(databaseName) : undefined;
  try {
    log(`${kind}: starting the server and the floor on a fresh database`);
    let server = await start('server', nodeArgs(options, SERVER_ENTRY, `${kind}-server`), serverEnv(options, database.url, CHEAP_ARGON2));
    const floor = await start('floor', nodeArgs(options, FLOOR_ENTRY, `${kind}-floor`), { DATABASE_URL: database.url });
    inspector = await openInspector(database);
    const db = inspector;
    const accounts = await seed(server.origin, db, 'bench', ACCOUNTS, (i) => (i < RACE_ACCOUNTS ? DEVICES_PER_RACING_ACCOUNT : 1), true);
    const targets = (build: (service: Service) => Promise<Measurement>) => [() => build(server), () => build(floor)] as const;

    // Unmeasured, so that neither target is timed while V8 still compiles its hot paths.
    for (const service of [server, floor]) {
      const stored = await db.sequences();
      for (const connection of [
        (i: number) => readConnection(accounts[i].tokens[0]),
        (i: number) => writeConnection(i, accounts[i], accounts[i].tokens[0], stored.get(accounts[i].id)!, new Map()),
      ]) {
        await runLoad({ origin: service.origin, connections: ACCOUNTS, connection, warmupMs: 0, durationMs: 3 * options.warmupMs });
      }
    }

    for (const connections of has('read') ? [16, 64] : []) {
      await bench.compare(
        { database: kind, scenario: 'walletState read (10 KB)', connections, a: 'server', b: 'floor', target: { minRatio: 0.65, zeroErrors: true } },
        ...targets((service) => bench.measure(service, connections, (i) => readConnection(accounts[i % ACCOUNTS].tokens[0]))),
      );
    }

    if (has('socket')) {
      // Protocol 3: the same read over the device's live connection. What counts is the server's CPU per read (issue 23:
      // ≤ 60 µs on SQLite, at or under the floor's), since on this machine the load generator's share of the CPU bounds the rates.
      for (const connections of [16, 64]) {
        const overSocket = () => bench.measureSocket(server, connections, (i) => socketReadConnection(accounts[i % ACCOUNTS].tokens[0]));
        await bench.compare(
          { database: kind, scenario: 'walletState read (10 KB)', connections, a: 'socket', b: 'HTTP', target: { zeroErrors: true, maxCpuRatio: 1, ...(kind === 'sqlite' ? { maxCpuUsA: 60 } : {}) } },
          overSocket,
          () => bench.measure(server, connections, (i) => readConnection(accounts[i % ACCOUNTS].tokens[0])),
        );
        await bench.compare(
          { database: kind, scenario: 'walletState read (10 KB)', connections, a: 'server over the socket', b: 'floor (HTTP)', target: { zeroErrors: true, maxCpuRatio: 1 } },
          overSocket,
          () => bench.measure(floor, connections, (i) => readConnection(accounts[i % ACCOUNTS].tokens[0])),
        );
      }
    }

    if (has('logging') && kind === 'sqlite' && options.logLevel !== 'warn') {
      // The price of the per-request log line (info): the same server with LOG_LEVEL=warn beside it.
      const port = await freePort();
      const env = { ...serverEnv({ ...options, logLevel: 'warn' }, database.url, CHEAP_ARGON2), PORT: String(port) };
      const quiet = await startService('server-warn', [SERVER_ENTRY], env, log, port);
      services.push(quiet);
      await runLoad({ origin: quiet.origin, connections: ACCOUNTS, connection: (i) => readConnection(accounts[i].tokens[0]), warmupMs: 0, durationMs: 3 * options.warmupMs });
      await bench.compare(
        { database: kind, scenario: `walletState read, server LOG_LEVEL=${options.logLevel} vs warn`, connections: 64, a: options.logLevel, b: 'warn' },
        () => bench.measure(server, 64, (i) => readConnection(accounts[i].tokens[0])),
        () => bench.measure(quiet, 64, (i) => readConnection(accounts[i].tokens[0])),
      );
      await quiet.stop();
    }

    /** Each connection a device; `deviceOf(i)` says whose. Afterwards, the database must hold every acknowledged update. */
    const writes = async (service: Service, connections: number, deviceOf: (i: number) => [Account, number], withHistory = true, over: 'http' | 'socket' = 'http') => {
      const before = await db.sequences();
      const headersBefore = await db.headers();
      const acked = new Map<number, number>();
      const device = (i: number) => {
        const [account, d] = deviceOf(i);
        return [i, account, account.tokens[d], before.get(account.id) ?? 0, acked] as const;
      };
      const measurement =
        over === 'socket'
          ? await bench.measureSocket(service, connections, (i) => socketWriteConnection(...device(i)))
          : await bench.measure(service, connections, (i) => writeConnection(...device(i)));
      const after = await db.sequences();
      let lost = 0;
      for (const [id, count] of acked) lost += Math.max(0, (before.get(id) ?? 0) + count - (after.get(id) ?? 0));
      if (withHistory) {
        // An accepted state without its header is lost history: counted with the lost updates.
        const headersAfter = await db.headers();
        for (const [id, sequence] of after) {
          const added = (headersAfter.get(id) ?? 0) - (headersBefore.get(id) ?? 0);
          lost += Math.abs(sequence - (before.get(id) ?? 0) - added);
        }
      }
      return { ...measurement, lostUpdates: lost };
    };
    if (has('ceiling') && kind === 'sqlite') {
      // Database-independent, so measured once: the server's own stack with constant data, against the floor.
      const ceiling = await start('ceiling', nodeArgs(options, CEILING_ENTRY, 'ceiling'), serverEnv(options, database.url, CHEAP_ARGON2));
      const note = 'the server with its repositories answering from memory: what no database-side change can exceed';
      await bench.compare(
        { database: 'none', scenario: 'walletState read, framework ceiling', connections: 64, a: 'ceiling', b: 'floor (SQLite)', note },
        () => bench.measure(ceiling, 64, (i) => readConnection(accounts[i].tokens[0])),
        () => bench.measure(floor, 64, (i) => readConnection(accounts[i].tokens[0])),
      );
      await bench.compare(
        { database: 'none', scenario: 'updateWalletState, framework ceiling', connections: 64, a: 'ceiling', b: 'floor (SQLite)', note },
        () => bench.measure(ceiling, 64, (i) => writeConnection(i, accounts[i], accounts[i].tokens[0], 1, new Map())),
        () => writes(floor, 64, (i) => [accounts[i], 0]),
      );
      await ceiling.stop();
    }

    for (const connections of has('write') ? [16, 64] : []) {
      await bench.compare(
        { database: kind, scenario: 'updateWalletState, own account', connections, a: 'server', b: 'floor', target: { minRatio: 0.8, zeroErrors: true } },
        ...targets((service) => writes(service, connections, (i) => [accounts[i], 0])),
      );
    }
    for (const connections of has('socket') ? [16, 64] : []) {
      await bench.compare(
        { database: kind, scenario: 'updateWalletState, own account', connections, a: 'socket', b: 'HTTP', target: { zeroErrors: true, maxCpuRatio: 0.8 } },
        () => writes(server, connections, (i) => [accounts[i], 0], true, 'socket'),
        () => writes(server, connections, (i) => [accounts[i], 0]),
      );
    }
    if (has('socket')) {
      // A device writes; the account's 3 other devices watch. The event carries the state (A), or each watcher reads it
      // over HTTP after the event (B). CPU per write includes the fan-out to the watchers.
      const watchers = DEVICES_PER_RACING_ACCOUNT - 1;
      const watching = (mode: 'state' | 'read') => async () => {
        const tokens = accounts.slice(0, RACE_ACCOUNTS).flatMap((account) => account.tokens.slice(1));
        const watch = await startWatchers(server.origin, tokens, mode);
        try {
          const measurement = await writes(server, RACE_ACCOUNTS, (i) => [accounts[i], 0]);
          const { events, states, errors } = watch.counts();
          log(`    watchers (${mode}): ${events} events, ${states} states received, ${errors} errors`);
          return { ...measurement, graphqlErrors: measurement.graphqlErrors + errors };
        } finally {
          await watch.stop();
        }
      };
      await bench.compare(
        {
          database: kind,
          scenario: `updateWalletState with ${watchers} devices watching`,
          connections: RACE_ACCOUNTS,
          a: 'state in the event',
          b: 'read after the event',
          target: { zeroErrors: true, maxCpuRatio: 1 },
          note: `${RACE_ACCOUNTS} writing devices, ${RACE_ACCOUNTS * watchers} watching over graphql-ws; CPU per write includes delivering it`,
        },
        watching('state'),
        watching('read'),
      );
    }
    for (const connections of has('race') ? [16, 64] : []) {
      await bench.compare(
        {
          database: kind,
          scenario: `updateWalletState, ${DEVICES_PER_RACING_ACCOUNT} devices racing per account`,
          connections,
          a: 'server',
          b: 'floor',
          target: { minRatio: 0.65, zeroErrors: true },
        },
        ...targets((service) =>
          writes(service, connections, (i) => [accounts[Math.floor(i / DEVICES_PER_RACING_ACCOUNT)], i % DEVICES_PER_RACING_ACCOUNT]),
        ),
      );
    }

    if (has('history')) {
      // The history rows' price: the floor's whole write against its compare-and-set alone.
      const bare = await start('floor-no-history', [FLOOR_ENTRY], { DATABASE_URL: database.url, FLOOR_HISTORY: 'off' });
      const note = 'header + kept content + content drop + WALLET_UPDATED event, in the write\'s transaction';
      await bench.compare(
        { database: kind, scenario: 'floor writes: with history rows vs without', connections: 64, a: 'with', b: 'without', note },
        () => writes(floor, 64, (i) => [accounts[i], 0]),
        () => writes(bare, 64, (i) => [accounts[i], 0], false),
      );
      await bare.stop();
    }

    if (has('sync') && kind === 'sqlite') {
      // The durability choice's price: the floor's writes with synchronous=FULL against NORMAL.
      const normal = await start('floor-normal', [FLOOR_ENTRY], { DATABASE_URL: database.url, SQLITE_SYNCHRONOUS: 'NORMAL' });
      await bench.compare(
        { database: kind, scenario: 'floor writes: synchronous FULL vs NORMAL', connections: 64, a: 'FULL', b: 'NORMAL' },
        () => writes(floor, 64, (i) => [accounts[i], 0]),
        () => writes(normal, 64, (i) => [accounts[i], 0]),
      );
      await normal.stop();
    }

    if (has('login') || has('storm')) {
      // Login costs what argon2 costs: a server with the production parameters, on accounts hashed with them.
      await server.stop();
      server = await start('server-argon2', nodeArgs(options, SERVER_ENTRY, `${kind}-server-login`), serverEnv(options, database.url, PRODUCTION_ARGON2));
      const loginAccounts = await seed(server.origin, db, 'login', LOGIN_CONNECTIONS, () => 1, false);
      if (has('login')) {
        await bench.compare(
          { database: kind, scenario: 'login (argon2id m=19456 t=2 p=1)', connections: LOGIN_CONNECTIONS, a: 'server', b: `raw argon2 verify, ${process.env.ARGON2_MAX_CONCURRENT ?? defaultArgon2Concurrency()} in flight`, target: { minRatio: 0.9, zeroErrors: true } },
          () => bench.measure(server, LOGIN_CONNECTIONS, (i) => loginConnection(loginAccounts[i])),
          () => rawArgon2(options),
        );
      }
      if (has('storm')) {
        const logins: number[] = [];
        await bench.compare(
          {
            database: kind,
            scenario: 'walletState read during a login storm',
            connections: 16,
            a: 'reads + 4 logins',
            b: 'reads alone',
            // Issue 10: reads during a login storm keep at least half their rate alone.
            target: { minRatio: 0.5, zeroErrors: true },
            note: 'server only; A runs 4 login connections alongside the 16 readers',
          },
          async () => {
            const [reads, storm] = await Promise.all([
              bench.measure(server, 16, (i) => readConnection(accounts[i].tokens[0])),
              runLoad({ origin: server.origin, connections: LOGIN_CONNECTIONS, connection: (i) => loginConnection(loginAccounts[i]), warmupMs: options.warmupMs, durationMs: options.durationMs }),
            ]);
            logins.push(Math.round(storm.rps));
            log(`    logins during the storm: ${Math.round(storm.rps)}/s, p99 ${storm.p99Ms} ms, ${storm.graphqlErrors + storm.non2xx + storm.networkErrors} errors`);
            return reads;
          },
          () => bench.measure(server, 16, (i) => readConnection(accounts[i].tokens[0])),
        );
        bench.comparisons[bench.comparisons.length - 1].note += `; logins/s during the storm: ${logins.join(', ')}`;
      }
    }
  } finally {
    bench.databaseCpuSeconds = undefined;
    for (const service of services.reverse()) await service.stop().catch(() => undefined);
    await inspector?.close().catch(() => undefined);
    await database.drop().catch((error: unknown) => log(`could not drop the ${kind} database: ${String(error)}`));
  }
}

function rawArgon2(options: Options): Promise<Measurement> {
  return runJson<LoadResult>([path.join(__dirname, 'argon2-floor.js')], {
    ...PRODUCTION_ARGON2,
    // As many verifies at once as the server lets run (its ARGON2_MAX_CONCURRENT): the floor of what it may do.
    BENCH_IN_FLIGHT: process.env.ARGON2_MAX_CONCURRENT ?? String(defaultArgon2Concurrency()),
    BENCH_WARMUP_MS: String(options.warmupMs),
    BENCH_DURATION_MS: String(options.durationMs),
  }).then((r) => ({ ...r, seconds: options.durationMs / 1000, maxMs: NaN, ok: r.requests, conflicts: 0, graphqlErrors: 0, non2xx: 0, status5xx: 0, networkErrors: 0, samples: [] }));
}

interface RunMeta {
  startedAt: string;
  seconds: number;
  node: string;
  cpus: string;
  rounds: number;
  durationS: number;
  warmupS: number;
  serverLogLevel: string;
}

/** latest.json (everything measured) and latest.md (the table), in `out`; the table also goes to stdout. */
function writeResults(out: string, meta: RunMeta, comparisons: Comparison[]): void {
  const summaries = comparisons.map(summarize);
  const table = markdownTable(summaries);
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'latest.json'), `${JSON.stringify({ meta, summaries, comparisons }, null, 2)}\n`);
  writeFileSync(
    path.join(out, 'latest.md'),
    [
      `# Benchmark: the server against its floor`,
      '',
      `Run ${meta.startedAt} (${meta.seconds} s), Node ${meta.node}, ${meta.cpus}; ${meta.rounds} rounds of ${meta.durationS} s after ${meta.warmupS} s warm-up, A and B interleaved; server LOG_LEVEL=${meta.serverLogLevel}.`,
      `Medians over the rounds, the range in parentheses. A / B is the ratio per round. Errors count the server's (A's) answers over all rounds;`,
      `conflicts are expected only where devices race. Produced by \`npm run bench\`; see docs/benchmarks.md.`,
      '',
      table,
      '',
    ].join('\n'),
  );
  process.stdout.write(`\n${table}\n\nwritten: ${path.relative(process.cwd(), path.join(out, 'latest.md'))}, latest.json\n`);
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (options.render) {
    const { meta, comparisons } = JSON.parse(readFileSync(options.render, 'utf8')) as { meta: RunMeta; comparisons: Comparison[] };
    writeResults(options.out, meta, comparisons);
    return;
  }
  if (!existsSync(SERVER_ENTRY)) throw new Error(`${SERVER_ENTRY} is missing: run \`npm run bench\`, which builds first`);
  const bench = new Bench(options);
  const startedAt = new Date();
  log(`bench: ${options.rounds} round(s) of ${options.durationMs / 1000} s (+${options.warmupMs / 1000} s warm-up) per target and scenario`);
  for (const kind of options.databases) await runDatabase(bench, kind);
  writeResults(options.out, {
    startedAt: startedAt.toISOString(),
    seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    node: process.version,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
    rounds: options.rounds,
    durationS: options.durationMs / 1000,
    warmupS: options.warmupMs / 1000,
    serverLogLevel: options.logLevel,
  }, bench.comparisons);
}

main().catch((error: unknown) => {
  log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
