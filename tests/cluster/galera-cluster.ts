import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

/**
 * A MariaDB Galera cluster of its own on this one machine, for the cluster
 * tests: each node a `mariadbd` with its own data directory, SQL port, Galera
 * ports and `wsrep_cluster_address` naming the others, all on loopback. The
 * first node starts the cluster (`--wsrep-new-cluster`); the others join it
 * with a state transfer (rsync). The nodes run as the `mysql` user: the rsync
 * state transfer's daemon drops to `nobody` when started as root, and fails.
 * Everything is removed by stop(), also after a failed start. When the test
 * process ends without it (killed, interrupted), its nodes die with it and
 * the next start removes the directory it left.
 */
export interface GaleraNode {
  index: number;
  port: number;
  /** A mysql:// URL of this node for `database`. */
  url(database: string): string;
  running(): boolean;
}

export interface GaleraCluster {
  nodes: GaleraNode[];
  /** Stops node `index` (a clean shutdown: it leaves the cluster), e.g. to take it away under load. */
  stopNode(index: number): Promise<void>;
  /** Kills node `index` (SIGKILL): it vanishes without leaving, as a crashed machine or a cut network does. */
  killNode(index: number): Promise<void>;
  /** Starts node `index` again; resolves once it has rejoined and is synced. */
  startNode(index: number): Promise<void>;
  /** Runs `sql` on node `index` as root. */
  query<T = mysql.RowDataPacket[]>(index: number, sql: string): Promise<T>;
  stop(): Promise<void>;
}

export const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';

/** Why a cluster cannot start on this machine, or undefined when it can. */
export function galeraMissing(): string | undefined {
  if (!existsSync(GALERA_PROVIDER)) return `Galera is not installed (${GALERA_PROVIDER} is missing: apt-get install galera-4)`;
  if (!existsSync('/usr/sbin/mariadbd')) return 'mariadbd is not installed';
  if (!existsSync('/usr/bin/rsync')) return 'rsync (the state transfer) is not installed';
  if (!existsSync(SETPRIV)) return `setpriv (util-linux) is not installed: ${SETPRIV}`;
  return undefined;
}

const run = promisify(execFile);

interface NodeRuntime extends GaleraNode {
  dir: string;
  galeraPort: number;
  sstPort: number;
  process?: ChildProcess;
}

/** `extraOptions`: more mariadbd options for every node (after the ones below, so they win). */
export async function startGaleraCluster(size = 3, extraOptions: readonly string[] = []): Promise<GaleraCluster> {
  const missing = galeraMissing();
  if (missing) throw new Error(missing);
  removeStaleClusters();
  // Under /tmp (world-passable): every parent of a node's directory must be passable by `mysql`.
  const root = mkdtempSync(path.join(CLUSTERS_UNDER, CLUSTER_PREFIX));
  chmodSync(root, 0o755);
  writeFileSync(path.join(root, OWNER_FILE), String(process.pid));
  const base = await freePortBlock(size);
  const nodes: NodeRuntime[] = Array.from({ length: size }, (_, i) => {
    const port = base + i;
    const node: NodeRuntime = {
      index: i,
      port,
      galeraPort: base + 10 + i * 3,
      sstPort: base + 12 + i * 3,
      dir: path.join(root, `node${i}`),
      url: (database: string) => `mysql://root@127.0.0.1:${port}/${database}`,
      running: () => alive(node.process),
    };
    return node;
  });
  const address = `gcomm://${nodes.map((n) => `127.0.0.1:${n.galeraPort}`).join(',')}`;
  const { uid, gid } = mysqlUser();

  const args = (node: NodeRuntime, first: boolean) => [
    '--no-defaults',
    `--datadir=${node.dir}/data`,
    `--socket=${node.dir}/mysqld.sock`,
    `--pid-file=${node.dir}/mysqld.pid`,
    `--log-error=${node.dir}/error.log`,
    `--port=${node.port}`,
    '--bind-address=127.0.0.1',
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=64M',
    '--innodb-log-file-size=16M',
    '--max-connections=300',
    '--binlog-format=ROW',
    '--default-storage-engine=InnoDB',
    '--innodb-autoinc-lock-mode=2',
    // A commit is on the other nodes before it is acknowledged; it need not wait for this node's disk too (the whole
    // suite commits thousands of times on three nodes). A killed mariadbd loses nothing: the log is in the kernel's cache.
    '--innodb-flush-log-at-trx-commit=2',
    '--wsrep-on=ON',
    `--wsrep-provider=${GALERA_PROVIDER}`,
    `--wsrep-cluster-address=${address}`,
    '--wsrep-cluster-name=wallet-sync-test',
    `--wsrep-node-name=node${node.index}`,
    `--wsrep-node-address=127.0.0.1:${node.galeraPort}`,
    `--wsrep-provider-options=base_port=${node.galeraPort};gmcast.listen_addr=tcp://127.0.0.1:${node.galeraPort};ist.recv_addr=127.0.0.1:${node.galeraPort + 1}`,
    '--wsrep-sst-method=rsync',
    `--wsrep-sst-receive-address=127.0.0.1:${node.sstPort}`,
    // Reads see every write the cluster committed before them, on whichever node (docs/scaling.md says why).
    '--wsrep-sync-wait=1',
    ...extraOptions,
    ...(first ? ['--wsrep-new-cluster'] : []),
  ];

  const start = async (node: NodeRuntime, first: boolean) => {
    node.process = spawn(SETPRIV, [...AS_MYSQL_UNTIL_PARENT_DIES, '/usr/sbin/mariadbd', ...args(node, first)], { stdio: 'ignore' });
    await waitForSynced(node, 120_000);
  };

  try {
    for (const node of nodes) {
      mkdirSync(`${node.dir}/data`, { recursive: true });
      chownSync(node.dir, uid, gid);
      chownSync(`${node.dir}/data`, uid, gid);
    }
    // One data directory is initialised; the joiners receive theirs from the cluster (a state transfer).
    await run('/usr/bin/mariadb-install-db', ['--no-defaults', '--user=mysql', `--datadir=${nodes[0].dir}/data`, '--auth-root-authentication-method=normal', '--skip-test-db'], { timeout: 120_000 });
    await start(nodes[0], true);
    await connectAs(nodes[0], (c) => c.query("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION"), true);
    for (const node of nodes.slice(1)) await start(node, false);
  } catch (error) {
    const logs = nodes.map((n) => `node${n.index}: ${tail(`${n.dir}/error.log`)}`).join('\n');
    await stopAll(nodes);
    rmSync(root, { recursive: true, force: true });
    throw new Error(`the Galera cluster did not start: ${error instanceof Error ? error.message : String(error)}\n${logs}`);
  }

  return {
    nodes,
    async stopNode(index) {
      await stopNode(nodes[index]);
    },
    killNode: (index) => stopAll([nodes[index]]),
    async startNode(index) {
      await start(nodes[index], false);
    },
    query: <T>(index: number, sql: string) => connectAs(nodes[index], async (c) => (await c.query(sql))[0] as T),
    async stop() {
      await stopAll(nodes);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * The first of a block of ports free on loopback for `size` nodes. Per node: its SQL port (base + i), then 3 for Galera
 * at base + 10 + 3i: replication (gcomm), incremental state transfer (+1), rsync (+2). Below Linux's ephemeral range
 * (32768 and up), where any outgoing connection may hold one at the moment a node binds it; a block is probed first,
 * since another program or another run can hold one here too.
 */
async function freePortBlock(size: number): Promise<number> {
  const blocks = 120;
  for (let tried = 0; tried < blocks; tried += 1) {
    const base = 20000 + ((process.pid + tried) % blocks) * 100;
    const ports = Array.from({ length: size }, (_, i) => [base + i, base + 10 + i * 3, base + 11 + i * 3, base + 12 + i * 3]).flat();
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free block of ports on 127.0.0.1 between 20000 and 32000 for the Galera nodes');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A node runs as `mysql` and gets SIGKILL when the test process ends in any way, a SIGKILL or a CI timeout included
 * (PR_SET_PDEATHSIG): it cannot outlive the run, holding its ports and memory. Listeners on `process` cannot do that:
 * jest gives a test a copy of `process`, whose listeners the real process never calls. setpriv changes the user
 * itself, since mariadbd's own --user would clear the parent-death signal.
 */
const SETPRIV = '/usr/bin/setpriv';
const AS_MYSQL_UNTIL_PARENT_DIES = ['--reuid=mysql', '--regid=mysql', '--init-groups', '--pdeathsig=KILL', '--'];

const CLUSTERS_UNDER = '/tmp';
const CLUSTER_PREFIX = 'wallet-sync-galera-';
/** The pid of the test process that owns a cluster's directory. */
const OWNER_FILE = 'owner.pid';
/** A directory without an owner file is from a harness that did not write one: stale once no run could still use it. */
const UNOWNED_STALE_AFTER_MS = 15 * 60 * 1000;

/**
 * Kills the nodes of clusters whose test process is gone (killed before it could stop them) and removes their
 * directories, so that they hold no ports, memory or disk. A cluster whose owner still runs (another test run on
 * this machine) is left alone.
 */
export function removeStaleClusters(): void {
  for (const name of readdirSync(CLUSTERS_UNDER)) {
    if (!name.startsWith(CLUSTER_PREFIX)) continue;
    const dir = path.join(CLUSTERS_UNDER, name);
    try {
      const owner = readNumber(path.join(dir, OWNER_FILE));
      if (owner === undefined ? Date.now() - statSync(dir).mtimeMs < UNOWNED_STALE_AFTER_MS : processRuns(owner)) continue;
      // Found by their command line, not their pid files: a node killed while it started may not have written one.
      for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
        if (readText(`/proc/${pid}/cmdline`)?.includes(`--datadir=${dir}/`)) killIfRunning(Number(pid));
      }
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Removed by its owner meanwhile, or not ours to remove: it is left as it is.
    }
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function readNumber(file: string): number | undefined {
  const value = Number.parseInt(readText(file) ?? '', 10);
  return Number.isInteger(value) ? value : undefined;
}

function killIfRunning(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // It ended meanwhile.
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function mysqlUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('mysql:'));
  if (!line) throw new Error('there is no mysql user to run the Galera nodes as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

async function connectAs<T>(node: NodeRuntime, work: (c: mysql.Connection) => Promise<T>, overSocket = false): Promise<T> {
  const connection = await mysql.createConnection(
    overSocket ? { socketPath: `${node.dir}/mysqld.sock`, user: 'root', multipleStatements: true } : { host: '127.0.0.1', port: node.port, user: 'root', multipleStatements: true },
  );
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

/** Until the node answers and says it is synced with a primary component. */
async function waitForSynced(node: NodeRuntime, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (node.process && !alive(node.process)) throw new Error(`node${node.index} exited with ${node.process.exitCode ?? node.process.signalCode}`);
    try {
      const rows = await connectAs(node, async (c) => (await c.query("SHOW STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_cluster_status', 'wsrep_ready')"))[0] as mysql.RowDataPacket[], true);
      const status = Object.fromEntries(rows.map((r) => [r.Variable_name as string, r.Value as string]));
      last = JSON.stringify(status);
      if (status.wsrep_local_state_comment === 'Synced' && status.wsrep_cluster_status === 'Primary' && status.wsrep_ready === 'ON') return;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`node${node.index} was not synced within ${timeoutMs} ms (${last})`);
}

/**
 * Whether the node's process has not ended yet. A process killed by a signal keeps `exitCode` null (it has a
 * `signalCode` instead): waiting for the 'exit' of a node killed earlier would wait forever.
 */
function alive(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

async function stopNode(node: NodeRuntime): Promise<void> {
  const child = node.process;
  if (!child || !alive(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
}

/** The cluster is thrown away: killed, not shut down (a node without a primary component can take a minute to stop). */
async function stopAll(nodes: NodeRuntime[]): Promise<void> {
  await Promise.all(
    nodes.map(async ({ process: child }) => {
      if (!child || !alive(child)) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }),
  );
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}
