import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Divergence, WalletSyncClient } from 'wallet-sync-client';
import { ExitCode, runCli } from 'wallet-sync-client/cli';
import { ROOT_PASSWORD, TEST_SCRYPT_COST, twoDevices } from '../helpers/devices';
import { uniqueEmail } from '../../../test-support/operations';
import { testDialect } from '../../../test-support/database';
import { startRestorableServer, type RestorableServer } from '../helpers/restorable-server';

/**
 * Issue 14's promise: a server restored from an old backup heals itself from
 * the devices. The backup is a real SQLite copy, put back while the server is
 * stopped, as an operator would (MySQL restores go through mysqldump and are
 * the operator's; the devices cannot tell the difference).
 */
(testDialect() === 'sqlite' ? describe : describe.skip)('a server restored from an old backup', () => {
  let server: RestorableServer;

  beforeAll(async () => {
    server = await startRestorableServer();
  });
  afterAll(() => server.close());

  const edit = async (device: WalletSyncClient, key: string, value: string) => {
    await device.setPreference(key, value);
    await device.sync();
  };

  it('when the file taken at sequence k is put back after the devices reached k+5, then after the restart both devices heal it, converge, and every edit is there', async () => {
    const { c1, c2 } = await twoDevices(server);
    await edit(c1, 'animal', 'cow');
    await edit(c2, 'car', 'Audi');
    await edit(c1, 'city', 'Oslo');
    await c2.sync();
    const k = c1.status().sequence!;
    expect(k).toBe(3);
    const backup = await server.backup();

    await edit(c1, 'animal', 'horse');
    await edit(c2, 'colour', 'green');
    await edit(c2, 'city', 'Paris');
    await c1.sync();
    await edit(c1, 'car', 'Toyota');
    await c2.deletePreference('colour');
    await edit(c2, 'fruit', 'apple');
    await c1.sync();
    expect(c1.status().sequence).toBe(k + 5);
    // One more edit each, not synced when the server goes down.
    await c1.setPreference('sport', 'tennis');
    await c2.setPreference('animal', 'beaver');
    const expected = { animal: 'beaver', car: 'Toyota', city: 'Paris', fruit: 'apple', sport: 'tennis' };

    await server.restore(backup);

    const first = await c1.sync();
    expect(first.divergence).toEqual({ kind: 'rollback', reason: 'sequence-went-back', seen: { sequence: k + 5, hmac: expect.any(String) }, server: { sequence: k, hmac: expect.any(String) } });
    expect(first).toMatchObject({ pushed: true, sequence: k + 1 });
    // c2 saw k + 5 too, but the server's k + 1 is c1's heal, a state c2 never saw: a fork to c2, healed the same way.
    const second = await c2.sync();
    expect(second.divergence).toMatchObject({ kind: 'fork', reason: 'sequence-went-back', seen: { sequence: k + 5 }, server: { sequence: k + 1 } });
    expect(second).toMatchObject({ pushed: true, sequence: k + 2 });
    await expect(c1.sync()).resolves.toMatchObject({ pulled: true, pushed: false, sequence: k + 2, divergence: null });

    expect(c1.preferences()).toEqual(expected);
    expect(c2.preferences()).toEqual(expected);
    expect(c1.status()).toMatchObject({ unsyncedKeys: [], sequence: k + 2 });
    expect(c2.status()).toMatchObject({ unsyncedKeys: [], sequence: k + 2 });
    // Healed for good: the next edits sync as usual.
    await edit(c2, 'animal', 'cat');
    await expect(c1.sync()).resolves.toMatchObject({ pulled: true, divergence: null });
    expect(c1.preferences().animal).toBe('cat');
  });

  it('when the backup is from before the first upload, then the devices re-upload the wallet from sequence 1', async () => {
    const { c1, c2 } = await twoDevices(server);
    const backup = await server.backup();
    await edit(c1, 'animal', 'cow');
    await c2.sync();
    await edit(c2, 'car', 'Audi');
    await server.restore(backup);

    const first = await c2.sync();
    expect(first).toMatchObject({ pushed: true, sequence: 1, divergence: { kind: 'rollback', server: null, seen: { sequence: 2 } } });
    const second = await c1.sync();
    expect(second.divergence).toMatchObject({ kind: 'fork', server: { sequence: 1 } });
    expect(c1.preferences()).toEqual({ animal: 'cow', car: 'Audi' });
    await c2.sync();
    expect(c2.preferences()).toEqual(c1.preferences());
  });

  it('when a watching device\'s server comes back restored, then watch() reports the divergence on reconnecting and heals it, with nothing lost', async () => {
    const { c1, c2 } = await twoDevices(server);
    await edit(c1, 'animal', 'cow');
    await c2.sync();
    const backup = await server.backup();
    await edit(c2, 'car', 'Audi');
    await edit(c2, 'city', 'Oslo');
    await c1.sync();

    const divergences: Divergence[] = [];
    let connections = 0;
    const watch = c2.watch({
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      onDivergence: (divergence) => divergences.push(divergence),
      onConnected: () => (connections += 1),
    });
    try {
      const until = async (condition: () => boolean, what: string) => {
        for (const deadline = Date.now() + 10_000; !condition(); await new Promise((resolve) => setTimeout(resolve, 25))) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        }
      };
      await until(() => connections === 1, 'the first connection');
      await server.restore(backup);
      // Nobody writes: only the reconnection tells c2 the server came back older.
      await until(() => divergences.length > 0, 'a divergence');
      expect(divergences[0]).toMatchObject({ kind: 'rollback', reason: 'sequence-went-back', seen: { sequence: 3 }, server: { sequence: 1 } });
      await until(() => c2.status().sequence === 2, 'the heal to land');
      await c1.sync();
      expect(c1.preferences()).toEqual({ animal: 'cow', car: 'Audi', city: 'Oslo' });
    } finally {
      await watch.stop();
    }
  });

  it('when `wallet-sync watch` runs while its server comes back restored, then it prints the warning, heals the server, and exits 9 when stopped', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-watch-restore-'));
    const stop = new AbortController();
    let stderr = '';
    let stdout = '';
    const cli = (device: string, ...args: string[]) =>
      runCli(['--server', server.url, '--state', path.join(dir, `${device}.json`), '--device', device, '--scrypt-cost', String(TEST_SCRYPT_COST), ...args], {
        env: { WALLET_SYNC_PASSWORD: ROOT_PASSWORD },
        stdout: (text) => (stdout += text),
        stderr: (text) => (stderr += text),
        readSecret: () => Promise.reject(new Error('no terminal')),
        stopSignal: stop.signal,
      });
    try {
      const email = uniqueEmail('watch');
      expect(await cli('laptop', 'register', email)).toBe(ExitCode.Ok);
      await cli('laptop', 'set', 'animal', 'cow');
      await cli('laptop', 'sync');
      const backup = await server.backup();
      await cli('laptop', 'set', 'car', 'Audi');
      await cli('laptop', 'sync');

      const until = async (condition: () => boolean, what: string) => {
        for (const deadline = Date.now() + 10_000; !condition(); await new Promise((resolve) => setTimeout(resolve, 25))) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${stdout} ${stderr}`);
        }
      };
      const watching = cli('laptop', 'watch');
      await until(() => stdout.includes('Watching for updates'), 'watch to connect');
      await server.restore(backup);
      await until(() => stderr.includes('warning'), 'the warning');
      stop.abort();
      expect(await watching).toBe(ExitCode.Diverged);
      expect(stderr).toMatch(/warning: the server went back to a state this device saw before .*healed; watching on/);
      // Healed: the server holds the edit made after the backup again, and another device gets it.
      expect(await cli('phone', 'login', email)).toBe(ExitCode.Ok);
      expect(await cli('phone', 'sync')).toBe(ExitCode.Ok);
      stdout = '';
      expect(await cli('phone', 'get', 'car')).toBe(ExitCode.Ok);
      expect(stdout).toBe('Audi\n');
    } finally {
      stop.abort();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
