import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExitCode, runCli } from 'wallet-sync-client/cli';
import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { TEST_SCRYPT_COST } from '../helpers/devices';
import { startGraphQLProxy, type GraphQLProxy } from '../helpers/graphql-proxy';
import { uniqueEmail } from '../../../test-support/operations';
import { WalletVersionDocument } from '../../../test-support/operations.generated';

/** `wallet-sync history`, `restore`, `activity`, and the warning and exit code of a diverged server, in-process against a real server. */
describe('the wallet-sync CLI: history, undo and a server that went back', () => {
  let server: TestServer;
  let proxy: GraphQLProxy;
  let dir: string;
  const email = uniqueEmail('cli-history');
  const env = { WALLET_SYNC_PASSWORD: 'root password 1' };

  beforeAll(async () => {
    server = await startTestServer();
    proxy = await startGraphQLProxy(server.url);
    dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-cli-history-'));
  });
  afterAll(async () => {
    await proxy.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The phone talks through the proxy, the laptop straight to the server. */
  async function cli(device: 'laptop' | 'phone', ...args: string[]) {
    let stdout = '';
    let stderr = '';
    const url = device === 'phone' ? proxy.url : server.url;
    const code = await runCli(['--server', url, '--state', path.join(dir, `${device}.json`), '--device', device, '--scrypt-cost', String(TEST_SCRYPT_COST), ...args], {
      env,
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      readSecret: () => Promise.reject(new Error('no terminal')),
    });
    return { code, stdout, stderr, json: () => JSON.parse(stdout) };
  }

  beforeAll(async () => {
    expect((await cli('laptop', 'register', email)).code).toBe(ExitCode.Ok);
    expect((await cli('phone', 'login', email)).code).toBe(ExitCode.Ok);
    await cli('laptop', 'set', 'animal', 'cow');
    await cli('laptop', 'sync');
    await cli('phone', 'sync');
    await cli('phone', 'set', 'animal', 'horse');
    await cli('phone', 'sync');
    await cli('laptop', 'sync');
  });

  it('when history is asked for, then it lists the states newest first with their device, and --json gives the headers', async () => {
    const text = await cli('laptop', 'history');
    expect(text.code).toBe(ExitCode.Ok);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s+2\s+\S+\s+phone\s+\d+ B\s+restorable\s+<- this device$/);
    expect(lines[1]).toMatch(/^\s+1\s+\S+\s+laptop\s+\d+ B\s+restorable$/);
    const json = await cli('laptop', '--json', '--limit', '1', 'history');
    expect(json.json()).toEqual([expect.objectContaining({ sequence: 2, deviceId: 'phone', contentKept: true })]);
  });

  it('when restore names a kept sequence, then its content becomes the newest state', async () => {
    const run = await cli('laptop', '--json', 'restore', '1');
    expect(run.code).toBe(ExitCode.Ok);
    expect(run.json()).toMatchObject({ restoredFrom: 1, sequence: 3, changedKeys: ['animal'], preferences: { animal: 'cow' } });
    expect((await cli('phone', 'sync')).code).toBe(ExitCode.Ok);
    expect((await cli('phone', 'get', 'animal')).stdout).toBe('cow\n');
  });

  it.each([
    ['a sequence the server does not have', ['restore', '99'], ExitCode.NotFound, /does not keep the content of sequence 99/],
    ['not a number', ['restore', 'abc'], ExitCode.Usage, /positive integer/],
  ])('when restore is given %s, then it exits with its code and says why', async (_what, args, code, message) => {
    const run = await cli('laptop', ...args);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(message);
  });

  it('when activity is asked for, then it prints the security log newest first, and --json the events', async () => {
    const text = await cli('laptop', 'activity');
    expect(text.code).toBe(ExitCode.Ok);
    expect(text.stdout.split('\n')[0]).toMatch(/WALLET_UPDATED\s+laptop sequence 3 from 127\.0\.0\.0\/24$/);
    expect(text.stdout).toMatch(/LOGIN\s+phone \(new device\) from 127\.0\.0\.0\/24/);
    const json = await cli('laptop', '--json', '--limit', '2', 'activity');
    expect(json.json()).toEqual([
      expect.objectContaining({ kind: 'WALLET_UPDATED', deviceId: 'laptop', sequence: 3 }),
      expect.objectContaining({ kind: 'WALLET_UPDATED', deviceId: 'phone', sequence: 2 }),
    ]);
  });

  it('when the server answers a state older than the device saw, then sync warns, heals, and exits 9 with the divergence in --json', async () => {
    // The proxy plays a server restored to sequence 2 for one answer.
    let old: unknown = null;
    proxy.rule = async ({ operationName, token }) => {
      if (operationName !== 'WalletState' || old) return undefined;
      old = (await server.gql(WalletVersionDocument, { sequence: 2 }, token)).body.data!.walletVersion;
      return { answer: { data: { walletState: old } } };
    };
    await cli('phone', 'set', 'colour', 'green');
    const run = await cli('phone', '--json', 'sync');
    proxy.rule = null;
    expect(run.code).toBe(ExitCode.Diverged);
    expect(run.stderr).toMatch(/warning: the server went back to a state this device saw before .*sequence 2, not newer than the sequence 3.*kept this device's data/);
    expect(run.json()).toMatchObject({ divergence: { kind: 'rollback', reason: 'sequence-went-back', server: { sequence: 2 } }, pushed: true, sequence: 4 });
    const after = await cli('laptop', '--json', 'sync');
    expect(after.code).toBe(ExitCode.Ok);
    expect(after.json().preferences).toEqual({ animal: 'cow', colour: 'green' });
  });

  it('when sync finds a diverged history but the merge is what the server holds, then the warning says nothing was uploaded', async () => {
    await cli('phone', 'sync');
    // The proxy swallows the phone's upload and answers success: the phone holds a state the server never had.
    proxy.rule = ({ operationName, variables }) =>
      operationName === 'UpdateWalletState'
        ? { answer: { data: { updateWalletState: { __typename: 'WalletStateSuccess', walletState: { ...variables.input, updatedAt: new Date().toISOString() } } } } }
        : undefined;
    await cli('phone', 'set', 'fruit', 'apple');
    expect((await cli('phone', 'sync')).code).toBe(ExitCode.Ok);
    proxy.rule = null;
    // The laptop makes the same edit later, so the merge keeps the server's state as it is.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await cli('laptop', 'set', 'fruit', 'apple');
    expect((await cli('laptop', 'sync')).code).toBe(ExitCode.Ok);

    const run = await cli('phone', 'sync');
    expect(run.code).toBe(ExitCode.Diverged);
    expect(run.stdout).toMatch(/^Synced: (got|up to date at) sequence \d+/);
    expect(run.stderr).toMatch(/warning: the server shows a history that differs .*\(nothing to upload; at sequence \d+\)\n$/);
    expect(run.stderr).not.toContain('uploaded as');
  });
});
