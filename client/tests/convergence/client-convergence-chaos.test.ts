import { setTimeout as sleep, setImmediate as yieldToOthers } from 'node:timers/promises';
import type { Divergence, PreferenceEntry, WalletSyncClient } from 'wallet-sync-client';
import { expectConverged, seededRandom, twoDevices } from '../helpers/devices';
import { testDialect } from '../../../test-support/database';
import { startGraphQLProxy, type GraphQLProxy } from '../helpers/graphql-proxy';
import { startRestorableServer, type RestorableServer } from '../helpers/restorable-server';

const EDITS_PER_DEVICE = 80;
const KEYS = ['animal', 'car', 'colour', 'city', 'fruit', 'sport'];
// Replay a failure with CHAOS_SEED=<seed printed below>.
const SEED = Number(process.env.CHAOS_SEED ?? 20261202);

/**
 * The convergence test with the server misbehaving at random while two
 * devices edit and sync: it is restored from one of its earlier backups
 * (stopped, file put back, restarted), or a device's upload is swallowed by a
 * proxy that answers success (the device then holds a state of a history the
 * server never had: a fork). Afterwards both devices must hold the same
 * document whose every key is the latest of all edits made to it.
 * Restores need the SQLite file, so this runs on SQLite.
 */
(testDialect() === 'sqlite' ? describe : describe.skip)('two devices syncing while the server is restored from backups and forks', () => {
  let server: RestorableServer;
  let proxy: GraphQLProxy;

  beforeAll(async () => {
    server = await startRestorableServer();
    proxy = await startGraphQLProxy(server.url);
  });
  afterAll(async () => {
    await proxy.close();
    await server.close();
  });

  it(`when restores and forks are injected at random (seed ${SEED}), then both devices converge with no edit lost`, async () => {
    const { c1, c2 } = await twoDevices({ url: proxy.url });
    const edits = new Map<string, PreferenceEntry[]>(KEYS.map((key) => [key, []]));
    const divergences: Divergence[] = [];
    // Forks counted when an upload was swallowed, not when the rule was set: a rule no upload met forked nothing.
    const chaos = { restores: 0, forks: 0 };
    // Both kinds of chaos happen whatever the machine's speed: the devices go on editing until they have.
    const chaosDone = () => chaos.restores > 0 && chaos.forks > 0;

    // What a device may meet on the way and retry later, keeping every edit locally: the server down while it
    // restarts, or more lost races in a row than its retry budget.
    const syncOrRetryLater = async (device: WalletSyncClient) => {
      try {
        const result = await device.sync();
        if (result.divergence) divergences.push(result.divergence);
      } catch (error) {
        if (!['NETWORK_ERROR', 'CONFLICT_RETRIES_EXHAUSTED'].includes((error as { code?: string }).code ?? '')) throw error;
      }
    };
    const edit = async (device: WalletSyncClient, random: () => number) => {
      for (let i = 0; i < EDITS_PER_DEVICE || (!chaosDone() && i < 20 * EDITS_PER_DEVICE); i += 1) {
        const key = KEYS[Math.floor(random() * KEYS.length)];
        const entry = random() < 0.2 ? await device.deletePreference(key) : await device.setPreference(key, `${device.deviceId}#${i}`);
        edits.get(key)!.push(entry);
        if (random() < 0.5) await syncOrRetryLater(device);
        if (random() < 0.5) await yieldToOthers();
      }
    };

    let editing = true;
    const inject = async (random: () => number) => {
      const backups: string[] = [await server.backup()];
      // A fork and a restore first, then at random: on a fast machine the edits may be over after a few injections.
      const planned = ['fork', 'backup', 'restore'];
      while (editing) {
        await sleep(40 + random() * 80);
        if (!editing) break;
        const roll = random();
        const kind = planned.shift() ?? (roll < 0.4 ? 'backup' : roll < 0.7 ? 'restore' : 'fork');
        if (kind === 'backup') {
          backups.push(await server.backup());
        } else if (kind === 'restore') {
          chaos.restores += 1;
          await server.restore(backups[Math.floor(random() * backups.length)]);
        } else {
          // The next upload through the proxy never reaches the server; the device is told it landed.
          let swallowed = false;
          proxy.rule = ({ operationName, variables }) => {
            if (operationName !== 'UpdateWalletState' || swallowed) return undefined;
            swallowed = true;
            chaos.forks += 1;
            return { answer: { data: { updateWalletState: { __typename: 'WalletStateSuccess', walletState: { ...variables.input, updatedAt: new Date().toISOString() } } } } };
          };
        }
      }
      proxy.rule = null;
    };

    const injecting = inject(seededRandom(SEED + 2));
    await Promise.all([edit(c1, seededRandom(SEED)), edit(c2, seededRandom(SEED + 1))]);
    editing = false;
    await injecting;

    // c1, then c2 (which merges c1's last upload), then c1 again (which takes c2's merge).
    await syncOrRetryLater(c1);
    await syncOrRetryLater(c2);
    await syncOrRetryLater(c1);

    expectConverged(c1, c2, edits);
    // The chaos was real, and the devices noticed it. Which kind each divergence is depends on what the other
    // device did meanwhile (a swallowed upload reads as a rollback unless the other device moved the server on);
    // client/tests/api/client-divergence.test.ts pins each kind down through a proxy.
    expect(chaos.restores).toBeGreaterThan(0);
    expect(chaos.forks).toBeGreaterThan(0);
    expect(divergences.length).toBeGreaterThan(0);
    for (const divergence of divergences) expect(['rollback', 'fork']).toContain(divergence.kind);
  }, 120_000);
});
