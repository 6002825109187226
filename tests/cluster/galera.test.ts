import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { apiAt, errorCode, type GraphQLResponse } from '../../test-support/graphql-http';
import { PASSWORD, login, newSeed, register, upload, type Device } from '../../test-support/operations';
import { ChangePasswordDocument, WalletHistoryDocument, UpdateWalletStateDocument, WalletStateDocument } from '../../test-support/operations.generated';
import { subscribedAtSequence1, type LiveClient } from '../../test-support/subscriptions';
import { TEST_ENV } from '../../test-support/test-env';
import { assertRedisAnswers, describeWith, redisRequirement, type ServiceRequirement } from '../helpers/required-services';
import { galeraMissing, startGaleraCluster, type GaleraCluster } from './galera-cluster';

/**
 * The server on a 3-node MariaDB Galera cluster started by the test on this
 * machine: instance A on node 0, instance B on node 1, Redis between them.
 * Galera is synchronous multi-primary: a write commits on every node or on
 * none, and two nodes that commit conflicting writes at once resolve it at
 * certification, where the loser fails like a deadlock's victim (1213). The
 * wallet's compare-and-set must still give one winner per sequence.
 */
const galera: ServiceRequirement = { missing: galeraMissing(), mustFail: process.env.CI === 'true' };

interface Instance {
  app: App;
  url: string;
  gql: ReturnType<typeof apiAt>['gql'];
}

describeWith([galera, redisRequirement()], 'the server on a 3-node Galera cluster', () => {
  let cluster: GaleraCluster;
  let a: Instance;
  let b: Instance;
  let database: string;
  const clients: LiveClient[] = [];

  async function startInstance(node: number, database: string, channelPrefix: string, secret: string): Promise<Instance> {
    const config = loadConfig({
      ...TEST_ENV,
      DATABASE_URL: cluster.nodes[node].url(database),
      REDIS_URL: process.env.REDIS_URL!,
      REDIS_CHANNEL_PREFIX: channelPrefix,
      SERVER_SECRET: secret,
    });
    const app = await createApp(config, { logger: pino({ level: process.env.GALERA_LOG ?? 'silent' }) });
    const url = await app.listen();
    return { app, url, ...apiAt(url) };
  }

  beforeAll(async () => {
    await assertRedisAnswers(process.env.REDIS_URL!);
    cluster = await startGaleraCluster(3);
    database = `wallet_sync_${randomBytes(4).toString('hex')}`;
    await cluster.query(0, `CREATE DATABASE ${database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    const prefix = `wsg-${randomBytes(4).toString('hex')}:`;
    const secret = randomBytes(32).toString('hex');
    // One after the other: A migrates the fresh database, B finds it migrated (through another node).
    a = await startInstance(0, database, prefix, secret);
    b = await startInstance(1, database, prefix, secret);
  }, 240_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(async () => {
    // The servers first, as they are: A on a node without a primary component, B on a node that was killed. A server
    // must shut down then too, and it is the cluster's stop that leaves nothing running on this machine.
    try {
      await a?.app.close();
      await b?.app.close();
    } finally {
      await cluster?.stop();
    }
  }, 120_000);

  /** An account with `devices` devices, logged in at the same time through both instances (so through two nodes). */
  async function account(on: Instance, devices: number): Promise<Device[]> {
    const { email, password } = await register(on);
    return Promise.all(Array.from({ length: devices }, (_, i) => login(i % 2 ? b : a, email, password, `device-${i}`)));
  }

  type UpdateResult = NonNullable<GraphQLResponse['body']['data']>;
  const resultOf = (response: GraphQLResponse) => {
    if (response.body.errors) throw new Error(`${response.status} ${JSON.stringify(response.body.errors)}`);
    return (response.body.data as UpdateResult).updateWalletState;
  };

  it('when 24 devices race each sequence through both instances and nodes, then exactly one wins each round and the others get its state', async () => {
    const devices = await account(a, 24);
    const rounds = 6;
    for (let sequence = 1; sequence <= rounds; sequence += 1) {
      const answers = await Promise.all(
        devices.map((device, i) =>
          (i % 2 ? b : a).gql(UpdateWalletStateDocument, { input: { encryptedWallet: `w${sequence}-${i}`, sequence, hmac: `h${sequence}-${i}` } }, device.token),
        ),
      );
      const results = answers.map(resultOf);
      const winners = results.filter((r) => r.__typename === 'WalletStateSuccess');
      expect(winners).toHaveLength(1);
      const won = winners[0].walletState;
      for (const loser of results.filter((r) => r.__typename !== 'WalletStateSuccess')) {
        expect(loser).toEqual({ __typename: 'WalletStateConflict', latest: won });
      }
    }
    // Both nodes hold the same state and one history header per accepted sequence.
    for (const instance of [a, b]) {
      expect((await instance.gql(WalletStateDocument, {}, devices[0].token)).body.data!.walletState!.sequence).toBe(rounds);
      const history = (await instance.gql(WalletHistoryDocument, { sinceSequence: 0, limit: 100 }, devices[1].token)).body.data!.walletHistory;
      expect(history.map((h: { sequence: number }) => h.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it('when a password change through A races uploads through B, then one of them wins the sequence and the other side sees it whole', async () => {
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const devices = await account(a, 6);
      await upload(a, devices[0], 1);
      const change = a.gql(ChangePasswordDocument, {
        input: { email: devices[0].email, oldPassword: PASSWORD, newPassword: 'the new password', clientSaltSeed: newSeed(), wallet: { encryptedWallet: 'changed', sequence: 2, hmac: 'hc' } },
      });
      const uploads = devices.slice(1).map((device, i) => b.gql(UpdateWalletStateDocument, { input: { encryptedWallet: `u${i}`, sequence: 2, hmac: `h${i}` } }, device.token));
      const changed = await change;
      const uploaded = await Promise.all(uploads);
      expect(changed.body.errors).toBeUndefined();
      const changeWon = changed.body.data!.changePassword.__typename === 'ChangePasswordSuccess';
      const uploadWins = uploaded.filter((r) => r.body.data?.updateWalletState?.__typename === 'WalletStateSuccess');
      // Every upload either lost the sequence or found its token revoked by the change: nothing else.
      for (const response of uploaded) {
        if (response.body.errors) expect(errorCode(response)).toBe('UNAUTHENTICATED');
      }
      const stored = await a.gql(WalletStateDocument, {}, changeWon ? (await login(b, devices[0].email, 'the new password', 'after')).token : devices[0].token);
      if (changeWon) {
        expect(uploadWins).toHaveLength(0);
        expect(stored.body.data!.walletState).toMatchObject({ sequence: 2, encryptedWallet: 'changed' });
        expect(errorCode(await b.gql(WalletStateDocument, {}, devices[1].token))).toBe('UNAUTHENTICATED');
      } else {
        expect(uploadWins).toHaveLength(1);
        const winner = (uploadWins[0].body.data!.updateWalletState as { walletState: { encryptedWallet: string; hmac: string } }).walletState;
        expect(changed.body.data!.changePassword).toEqual({ __typename: 'WalletStateConflict', latest: { encryptedWallet: winner.encryptedWallet, sequence: 2, hmac: winner.hmac, updatedAt: expect.any(String) } });
        expect(stored.body.data!.walletState).toMatchObject({ sequence: 2, encryptedWallet: winner.encryptedWallet });
      }
    }
  });

  it('when a device subscribed on A and another uploads through B (node 1), then A delivers the event', async () => {
    const [phone, laptop] = await account(a, 2);
    await upload(b, laptop, 1);
    const { subscription } = await subscribedAtSequence1(a.url, phone.token, clients);
    await upload(b, laptop, 2);
    expect(await subscription.next()).toBe(2);
  });

  it("when B's node stops under write load, then A keeps serving, B fails fast and is not ready, and after the node rejoins nothing acknowledged is lost", async () => {
    const writers = await Promise.all(Array.from({ length: 8 }, async () => (await account(a, 1))[0]));
    const acknowledged = new Map<string, number>();
    const failures: Record<'a' | 'b', string[]> = { a: [], b: [] };
    let slowestFailureMs = 0;
    let writing = true;
    const loops = writers.map(async (device, i) => {
      const [name, instance] = i % 2 ? (['b', b] as const) : (['a', a] as const);
      let sequence = 1;
      while (writing) {
        const sent = Date.now();
        const response = await instance.gql(UpdateWalletStateDocument, { input: { encryptedWallet: `w${sequence}`, sequence, hmac: `h${sequence}` } }, device.token).catch((error: Error) => error);
        if (response instanceof Error || response.body.errors) {
          failures[name].push(response instanceof Error ? response.message : (errorCode(response) ?? 'no code'));
          slowestFailureMs = Math.max(slowestFailureMs, Date.now() - sent);
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        const result = response.body.data!.updateWalletState;
        if (result.__typename === 'WalletStateSuccess') acknowledged.set(device.token, sequence);
        sequence = (result.__typename === 'WalletStateSuccess' ? sequence : (result.latest?.sequence ?? 0)) + 1;
      }
    });

    await new Promise((resolve) => setTimeout(resolve, 1500));
    await cluster.stopNode(1);
    const stoppedAt = new Map(acknowledged);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await fetch(`${b.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
    // A's writers went on while the node was away.
    const progressed = writers.filter((_, i) => i % 2 === 0).filter((device) => (acknowledged.get(device.token) ?? 0) > (stoppedAt.get(device.token) ?? 0));
    expect(progressed).toHaveLength(4);

    await cluster.startNode(1);
    const deadline = Date.now() + 30_000;
    while ((await fetch(`${b.url}/readyz`)).status !== 200) {
      if (Date.now() > deadline) throw new Error('B did not become ready after its node rejoined');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    writing = false;
    await Promise.all(loops);

    expect(failures.a).toEqual([]);
    // B answered while its database was away: quickly, and as PROTOCOL.md says of the unexpected (no hang, no reset).
    expect(failures.b.length).toBeGreaterThan(0);
    expect(new Set(failures.b)).toEqual(new Set(['INTERNAL_SERVER_ERROR']));
    expect(slowestFailureMs).toBeLessThan(10_000);
    // Every acknowledged state is on every node, the rejoined one included.
    for (const device of writers) {
      for (const instance of [a, b]) {
        const state = (await instance.gql(WalletStateDocument, {}, device.token)).body.data!.walletState;
        expect(state?.sequence).toBe(acknowledged.get(device.token));
      }
    }
  });

  // Last: it leaves the cluster without a primary component.
  it('when its node loses the primary component, then a server does not start on it, and the running one is not ready and fails fast', async () => {
    await cluster.killNode(1);
    await cluster.killNode(2);
    // The survivor sees the other two vanish (not leave): 1 of 3 is no quorum.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [status] = await cluster.query<Array<{ Value: string }>>(0, "SHOW STATUS LIKE 'wsrep_cluster_status'");
      if (status.Value !== 'Primary') break;
      if (Date.now() > deadline) throw new Error('node 0 stayed in the primary component');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    const ready = await fetch(`${a.url}/readyz`);
    expect(ready.status).toBe(503);
    // The timer is cleared once the race is decided: left to run, it would hold the test process open after the run.
    let timer: NodeJS.Timeout | undefined;
    const registration = await Promise.race([
      account(a, 1).then(
        () => 'registered',
        (error: Error) => error.message,
      ),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve('timed out'), 10_000))),
    ]).finally(() => clearTimeout(timer));
    expect(registration).toMatch(/INTERNAL_SERVER_ERROR/);

    const config = loadConfig({ ...TEST_ENV, DATABASE_URL: cluster.nodes[0].url(database) });
    await expect(createApp(config, { logger: pino({ level: 'silent' }) })).rejects.toThrow(/cannot open the MySQL\/MariaDB database .*: the Galera node is not in a primary component \(wsrep_cluster_status=non-Primary/);
  });
});
