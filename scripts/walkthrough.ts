import { WalletSyncClient, type DeviceStateStore, type KeyParams, type WalletStateInfo } from '../client/src';

/**
 * ../shared/reference/test-client-walkthrough.txt played with the client: two
 * devices of one account register, sync, diverge, merge, and hit a conflict on
 * push that carries the latest state. Every step checks what it got and throws
 * a WalkthroughDeviation when it is not what the walkthrough reads. Used by
 * `npm run demo` (printing each step) and by the end-to-end test.
 */
export interface WalkthroughOptions {
  url: string;
  email: string;
  rootPassword: string;
  /** The key parameters c1 registers the account with (c2 reads them from the server). */
  keyParams: KeyParams;
  storeFor(deviceId: string): DeviceStateStore;
  print(line: string): void;
}

export class WalkthroughDeviation extends Error {
  override readonly name = 'WalkthroughDeviation';
}

const PREFERENCE_KEYS = ['animal', 'car'];

export async function playWalkthrough(options: WalkthroughOptions): Promise<{ c1: WalletSyncClient; c2: WalletSyncClient }> {
  const { print, email, rootPassword } = options;
  const open = (deviceId: string) =>
    WalletSyncClient.open({ url: options.url, deviceId, store: options.storeFor(deviceId), keyParams: options.keyParams });
  const call = async <T>(code: string, action: () => Promise<T>): Promise<T> => {
    print(`>>> ${code}`);
    return action();
  };
  const section = (title: string) => print(`\n## ${title}\n`);

  section('Initial setup');
  print(`One client per wallet, test_wallet_1 and test_wallet_2, for the same sync account ${email}, which is not on`);
  print(`the server yet: two computers (scrypt N=${options.keyParams.n}, r=${options.keyParams.r}). c1 registers; then both get an auth token.`);
  const c1 = await open('test_wallet_1');
  const c2 = await open('test_wallet_2');
  const registered = await call('c1.register(email, rootPassword)', () => c1.register(email, rootPassword));
  check(registered.verified, 'the account starts verified (AllowAll)');
  print('Registered');
  for (const [name, client, login] of [
    ['c1', c1, () => c1.login()],
    ['c2', c2, () => c2.login({ email, rootPassword })],
  ] as const) {
    const token = await call(`${name}.login(${name === 'c1' ? '' : '{ email, rootPassword }'})`, login);
    print(`Got auth token for ${client.deviceId}, valid until ${token.expiresAt}`);
  }

  section('Syncing');
  print('c1 finds no wallet on the server and starts one. A push answers with the state the server now holds; c2 pulls it.');
  const nothing = await call('c1.pull()', () => c1.pull());
  check(nothing.walletState === null, 'a fresh account has no wallet on the server');
  print('Wallet not found\nNo wallet found on the server for this account. Starting a new one.');
  await expectPush('c1', c1, 1);
  await expectPull('c2', c2, 1);

  section('Updating');
  print('c2 pushes a new version (no edits: the sequence still goes up) and c1 pulls it.');
  await expectPush('c2', c2, 2);
  await expectPull('c1', c1, 2);

  section('Wallet changes');
  print('c1 changes a preference, pushes; c2 pulls it.');
  await expectPreferences('c1', c1, { animal: '', car: '' });
  await expectPreferences('c2', c2, { animal: '', car: '' });
  await setPreference('c1', c1, 'animal', 'cow');
  await expectPreferences('c1', c1, { animal: 'cow', car: '' });
  await expectPush('c1', c1, 3);
  await expectPull('c2', c2, 3);
  await expectPreferences('c2', c2, { animal: 'cow', car: '' });

  section('Merging changes');
  print('Both change different preferences. c1 pushes first; c2 pulls and merges its own change on top, against its merge');
  print('base (the last state it synced), then pushes the merge, which c1 pulls.');
  await setPreference('c1', c1, 'car', 'Audi');
  await setPreference('c2', c2, 'animal', 'horse');
  await expectPreferences('c1', c1, { animal: 'cow', car: 'Audi' });
  await expectPreferences('c2', c2, { animal: 'horse', car: '' });
  await expectPush('c1', c1, 4);
  await expectPull('c2', c2, 4);
  await expectPreferences('c2', c2, { animal: 'horse', car: 'Audi' });
  await expectPush('c2', c2, 5);
  await expectPull('c1', c1, 5);
  await expectPreferences('c1', c1, { animal: 'horse', car: 'Audi' });

  section('Conflicts');
  print("Both diverge again. c2 pushes first; c1's push conflicts, and the conflict carries the latest state, which c1");
  print('merges without another request. Its second push lands.');
  await setPreference('c2', c2, 'animal', 'beaver');
  await setPreference('c1', c1, 'car', 'Toyota');
  await expectPreferences('c2', c2, { animal: 'beaver', car: 'Audi' });
  await expectPreferences('c1', c1, { animal: 'horse', car: 'Toyota' });
  await expectPush('c2', c2, 6);
  const conflict = await call('c1.push()', () => c1.push());
  check(conflict.kind === 'conflict' && conflict.latest !== null, 'c1 is behind: its push conflicts with the latest state');
  check(conflict.latest.sequence === 6, `the conflict carries the latest state, sequence 6 (got ${conflict.latest.sequence})`);
  print('Wallet state out of date. Merged the latest wallet state it carried. Push again.');
  printState('Got new walletState', conflict.latest);
  print("'Conflict'");
  await expectPreferences('c1', c1, { animal: 'beaver', car: 'Toyota' });
  await expectPush('c1', c1, 7);
  await expectPull('c2', c2, 7);
  await expectPreferences('c2', c2, { animal: 'beaver', car: 'Toyota' });

  const final = [c1, c2].map((client) => ({ client, status: client.status(), preferences: client.preferences() }));
  for (const { client, status, preferences } of final) {
    check(status.sequence === 7 && status.unsyncedKeys.length === 0, `${client.deviceId} ends at sequence 7 with nothing unsynced`);
    check(preferences.animal === 'beaver' && preferences.car === 'Toyota', `${client.deviceId} ends with animal=beaver, car=Toyota`);
  }
  print(`\nBoth devices hold animal=beaver, car=Toyota at sequence 7.`);
  return { c1, c2 };

  async function expectPush(name: string, client: WalletSyncClient, sequence: number) {
    const result = await call(`${name}.push()`, () => client.push());
    check(result.kind === 'success', `${name}.push() lands (got ${result.kind})`);
    check(result.walletState.sequence === sequence, `${name}.push() lands at sequence ${sequence} (got ${result.walletState.sequence})`);
    print('Successfully updated wallet state on server');
    printState('Got new walletState', result.walletState);
    print("'Success'");
  }

  async function expectPull(name: string, client: WalletSyncClient, sequence: number) {
    const { walletState: state } = await call(`${name}.pull()`, () => client.pull());
    check(state?.sequence === sequence, `${name}.pull() gets sequence ${sequence} (got ${state?.sequence ?? 'no wallet'})`);
    printState('Got latest walletState', state!);
  }

  async function setPreference(name: string, client: WalletSyncClient, key: string, value: string) {
    const entry = await call(`${name}.setPreference(${quote(key)}, ${quote(value)})`, () => client.setPreference(key, value));
    print(`{ ${key}: ${quote(entry.value ?? '')} }`);
  }

  async function expectPreferences(name: string, client: WalletSyncClient, expected: Record<string, string>) {
    print(`>>> ${name}.preferences()`);
    const shown = Object.fromEntries(PREFERENCE_KEYS.map((key) => [key, client.preferences()[key] ?? '']));
    print(`{ ${Object.entries(shown).map(([key, value]) => `${key}: ${quote(value)}`).join(', ')} }`);
    check(JSON.stringify(shown) === JSON.stringify(expected), `${name}.preferences() is ${JSON.stringify(expected)} (got ${JSON.stringify(shown)})`);
  }

  function printState(label: string, state: WalletStateInfo) {
    const wallet = state.encryptedWallet.length > 48 ? `${state.encryptedWallet.slice(0, 48)}…` : state.encryptedWallet;
    print(`${label}:\nWalletState(sequence=${state.sequence}, encryptedWallet='${wallet}', hmac='${state.hmac.slice(0, 16)}…')`);
  }
}

function check(condition: boolean, expectation: string): asserts condition {
  if (!condition) throw new WalkthroughDeviation(`The walkthrough deviated: expected ${expectation}`);
}

function quote(value: string): string {
  return `'${value.replace(/'/g, "\\'")}'`;
}
