import type { Divergence, WalletSyncClient } from '../client/src';
import { WalkthroughDeviation } from './walkthrough';

/**
 * The acts `npm run demo` plays after the walkthrough (issue 14): the server
 * is restored from a backup taken mid-way and both devices heal it, ending on
 * one state with nothing lost; then one device undoes the last change with
 * restore(). Every step checks what it got, like the walkthrough.
 */
export interface RestoreAndUndoOptions {
  c1: WalletSyncClient;
  c2: WalletSyncClient;
  /** The server's operator; absent when the demo plays on a server it does not own (the restore act is skipped). */
  operator?: {
    backup(): Promise<void>;
    /** Stops the server, puts the backup back, starts it again. */
    restore(): Promise<void>;
  };
  print(line: string): void;
}

export async function playRestoreAndUndo({ c1, c2, operator, print }: RestoreAndUndoOptions): Promise<void> {
  const section = (title: string) => print(`\n## ${title}\n`);
  const sync = async (name: string, client: WalletSyncClient) => {
    print(`>>> ${name}.sync()`);
    const result = await client.sync();
    print(`${result.pushed ? 'pushed' : result.pulled || result.divergence ? 'got' : 'up to date at'} sequence ${result.sequence}`);
    if (result.divergence) print(`divergence: ${describeDivergence(result.divergence)}`);
    return result;
  };
  const set = async (name: string, client: WalletSyncClient, key: string, value: string) => {
    print(`>>> ${name}.setPreference('${key}', '${value}')`);
    await client.setPreference(key, value);
  };
  const expectSame = (expected: Record<string, string>) => {
    for (const client of [c1, c2]) {
      const got = JSON.stringify(sorted(client.preferences()));
      check(got === JSON.stringify(sorted(expected)), `${client.deviceId} holds ${JSON.stringify(sorted(expected))} (got ${got})`);
      check(client.status().unsyncedKeys.length === 0, `${client.deviceId} has nothing unsynced`);
    }
    check(c1.status().sequence === c2.status().sequence, `both devices at one sequence (got ${c1.status().sequence} and ${c2.status().sequence})`);
  };
  let expected = { ...c1.preferences() };

  section('Restoring the server from a backup');
  if (!operator) {
    print('(Skipped: the demo restores a backup only on a server of its own, and WALLET_SYNC_URL is set.)');
  } else {
    const backedUp = c1.status().sequence!;
    print(`The operator backs the server up at sequence ${backedUp}. The devices go on: c1 sets colour, c2 sets city.`);
    await operator.backup();
    await set('c1', c1, 'colour', 'green');
    await sync('c1', c1);
    await sync('c2', c2);
    await set('c2', c2, 'city', 'Paris');
    await sync('c2', c2);
    await sync('c1', c1);
    const reached = c1.status().sequence!;
    expected = { ...expected, colour: 'green', city: 'Paris' };
    expectSame(expected);
    print(`\nThe server is stopped, the backup put back (wallet-sync-admin restore) and the server started again: it holds`);
    print(`sequence ${backedUp} and has forgotten everything after it. Each device notices that the server's history is not`);
    print(`the one it saw, keeps its data, merges it onto the server's state and uploads the merge.`);
    await operator.restore();
    const first = await sync('c1', c1);
    check(first.divergence?.kind === 'rollback' && first.divergence.server?.sequence === backedUp, `c1 reports a rollback to sequence ${backedUp}`);
    check(first.pushed && first.sequence === backedUp + 1, `c1 heals the server at sequence ${backedUp + 1} (got ${first.sequence})`);
    const second = await sync('c2', c2);
    check(second.divergence?.kind === 'fork', `c2 reports a fork: the server's sequence ${backedUp + 1} is c1's heal, not the one it saw`);
    print(`Both devices had seen sequence ${reached}; the server is healed at ${c1.status().sequence} with nothing lost.`);
    expectSame(expected);
  }

  section('Undo');
  print('c2 changes animal by mistake and syncs; c1 takes it in, looks at the history and restores the state before.');
  await set('c2', c2, 'animal', 'cat');
  await sync('c2', c2);
  await sync('c1', c1);
  const before = c1.status().sequence! - 1;
  print('>>> c1.history({ limit: 3 })');
  for (const entry of await c1.history({ limit: 3 })) {
    print(`  sequence ${entry.sequence}  by ${entry.deviceId ?? '(password change)'}${entry.contentKept ? '  restorable' : ''}`);
  }
  print(`>>> c1.restore(${before})`);
  const undone = await c1.restore(before);
  print(`restored sequence ${undone.restoredFrom} as sequence ${undone.sequence} (changed back: ${undone.changedKeys.join(', ')})`);
  check(undone.changedKeys.join() === 'animal', `the restore changes animal back (got ${undone.changedKeys.join(', ')})`);
  await sync('c2', c2);
  expectSame(expected);
  const shown = Object.entries(sorted(expected))
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
  print(`\nBoth devices hold ${shown} at sequence ${c1.status().sequence}.`);
}

function describeDivergence({ kind, reason, seen, server }: Divergence): string {
  return `${kind} (${reason}): this device had seen sequence ${seen.sequence}, the server holds ${server ? `sequence ${server.sequence}` : 'no wallet'}`;
}

function sorted(preferences: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(preferences).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function check(condition: boolean, expectation: string): asserts condition {
  if (!condition) throw new WalkthroughDeviation(`The demo deviated: expected ${expectation}`);
}
