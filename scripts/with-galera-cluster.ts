import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { constants } from 'node:os';
import mysql from 'mysql2/promise';
import { startGaleraCluster, type GaleraCluster, type GaleraNode } from '../tests/cluster/galera-cluster';

/**
 * `npm run test:galera -- <jest options>`: the whole suite (`npm run test:all`) on a 3-node MariaDB Galera cluster
 * started for it (tests/cluster/galera-cluster.ts: own data directories and ports under /tmp), then the cluster
 * stopped, whether the command passes, fails or is interrupted (SIGTERM from CI's `timeout`, Ctrl-C). Generally:
 * `ts-node --transpile-only scripts/with-galera-cluster.ts <command…>` runs any command with DATABASE_URL set.
 *
 * DATABASE_URL names a round-robin balancer on loopback in front of the nodes, not one node: each new connection
 * goes to the next node. A test file's database is created through one node and used through all three (DDL
 * replicates), and a server's pool holds connections to every node, so the suite's concurrent writes (the race
 * tests, two instances, a session's writes next to a password change) meet as they do behind a load balancer
 * that spreads connections: on different nodes, settled by certification rather than by row locks.
 */
/**
 * One sequence of AUTO_INCREMENT ids for the cluster, as on one server (1, 2, 3, …), instead of Galera's default of
 * one interleaved sequence per node (node i hands out i, i + 3, …): a test may rely on the first account of a fresh
 * database being the first id (tests/redis/redis-prefix: two instances on databases of their own whose first
 * accounts share an id, so that a shared channel prefix mixes their events; with per-node sequences the two ids
 * differed whenever the two inserts went through different nodes, and the control case heard only its own event).
 * Two nodes that hand out the same id at once then conflict at certification, and the loser runs again (a
 * transaction, or one statement: Database.transaction, againOnContention, and the server's own retry of an
 * autocommit statement, wsrep_retry_autocommit) with a fresh id. A deployment keeps the default.
 */
const ONE_ID_SEQUENCE = ['--wsrep-auto-increment-control=OFF', '--auto-increment-increment=1', '--auto-increment-offset=1'];

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0) throw new Error('usage: with-galera-cluster <command> [args…]');
  const startedAt = Date.now();
  const cluster = await startGaleraCluster(3, ONE_ID_SEQUENCE);
  let balancer: net.Server | undefined;
  let child: ChildProcess | undefined;
  let signalled: NodeJS.Signals | undefined;
  const forward = (signal: NodeJS.Signals) => {
    signalled ??= signal;
    child?.kill(signal);
  };
  process.on('SIGTERM', forward).on('SIGINT', forward);
  try {
    balancer = await startRoundRobin(cluster.nodes);
    const { port } = balancer.address() as net.AddressInfo;
    const url = `mysql://root@127.0.0.1:${port}/wallet_sync_galera`;
    log(`a 3-node Galera cluster is up in ${seconds(startedAt)} (nodes on ${cluster.nodes.map((n) => n.port).join(', ')}); DATABASE_URL=${url}`);
    if (signalled) return 128 + signalNumber(signalled);
    const ranAt = Date.now();
    child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, DATABASE_URL: url } });
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    log(`${argv.join(' ')} ended (${signal ?? `exit code ${code}`}) after ${seconds(ranAt)}`);
    return code ?? 128 + signalNumber(signal ?? 'SIGTERM');
  } finally {
    balancer?.close();
    await stopCluster(cluster);
  }
}

/**
 * A TCP balancer on a free loopback port: each connection goes to the next node in turn and is piped both ways
 * until either side closes. Before it is handed on, a causal read on that node (wsrep_sync_wait) waits until the
 * node has applied everything the cluster committed so far: a test file creates its database through one node and
 * its server connects to the others at once, and a node that has not applied the CREATE DATABASE yet would refuse
 * the connection (Unknown database). A deployment creates its database long before a server connects; a proxy
 * with causal reads (MaxScale's causal_reads) does the same.
 */
async function startRoundRobin(nodes: GaleraNode[]): Promise<net.Server> {
  const caughtUp = await Promise.all(nodes.map((node) => causalReader(node)));
  let next = 0;
  const server = net.createServer((client) => {
    const index = next++ % nodes.length;
    client.on('error', () => client.destroy());
    caughtUp[index]().then(
      () => {
        if (client.destroyed) return;
        const upstream = net.connect(nodes[index].port, '127.0.0.1');
        upstream.on('error', () => upstream.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.pipe(upstream).pipe(client);
      },
      () => client.destroy(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/**
 * A function that resolves once `node` has applied every write set committed in the cluster before the call. Callers
 * that arrive while a causal read is under way share the next one (issued once it ends, so it still started after
 * they arrived): a pool opening ten connections at once waits for two reads, not for ten in a row, each of which may
 * wait behind another test file's DDL (its migrations, its DROP DATABASE), which every node applies in total order.
 */
async function causalReader(node: GaleraNode): Promise<() => Promise<void>> {
  let connection: Promise<mysql.Connection> | undefined;
  const connect = () => mysql.createConnection({ host: '127.0.0.1', port: node.port, user: 'root' }).then(async (c) => {
    c.on('error', () => (connection = undefined));
    await c.query('SET SESSION wsrep_sync_wait = 1');
    return c;
  });
  const read = async () => {
    connection ??= connect();
    await (await connection).query('SELECT 1 FROM information_schema.SCHEMATA LIMIT 1');
  };
  await (connection = connect());
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  return () => {
    if (!running) {
      running = read().finally(() => (running = undefined));
      return running;
    }
    next ??= running.catch(() => undefined).then(() => {
      next = undefined;
      running = read().finally(() => (running = undefined));
      return running;
    });
    return next;
  };
}

/** Stops the nodes; should that fail, they still die with this process (the helper spawns them with a parent-death signal). */
async function stopCluster(cluster: GaleraCluster): Promise<void> {
  try {
    await cluster.stop();
    log('the Galera cluster is stopped and its directory removed');
  } catch (error) {
    log(`stopping the Galera cluster failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const signalNumber = (signal: NodeJS.Signals) => constants.signals[signal];
const seconds = (since: number) => `${Math.round((Date.now() - since) / 1000)} s`;
const log = (line: string) => console.error(`with-galera-cluster: ${line}`);

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
