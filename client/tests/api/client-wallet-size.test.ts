import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExitCode, runCli } from 'wallet-sync-client/cli';
import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { uniqueEmail } from '../../../test-support/operations';
import { ROOT_PASSWORD, openDevice } from '../helpers/devices';
import { startGraphQLProxy, type GraphQLProxy } from '../helpers/graphql-proxy';

const LIMIT = 2000;

/**
 * A wallet over serverInfo.maxWalletBytes (issue 25, item 13): the client
 * refuses it before sending, naming the preference to shrink, since a large
 * body can reach the server as a reset connection instead of its 413.
 */
describe('a wallet over the server\'s size limit', () => {
  let server: TestServer;
  let proxy: GraphQLProxy;
  let dir: string;
  const sent: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({ MAX_WALLET_BYTES: String(LIMIT) });
    proxy = await startGraphQLProxy(server.url);
    proxy.rule = ({ operationName }) => void sent.push(operationName ?? '?');
    dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-size-'));
  });
  afterAll(async () => {
    await proxy.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when one preference makes the wallet too big, then sync refuses with PAYLOAD_TOO_LARGE naming it, sends nothing, and syncs once it is unset', async () => {
    const device = await openDevice(proxy, 'laptop');
    await device.register(uniqueEmail('size'), ROOT_PASSWORD);
    await device.login();
    await device.setPreference('theme', 'dark');
    await device.setPreference('notes', 'x'.repeat(LIMIT));
    sent.length = 0;

    const error = await device.sync().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', key: 'notes', message: expect.stringMatching(new RegExp(`over this server's limit of ${LIMIT} bytes; its largest preference is "notes"`)) });
    expect(sent).not.toContain('UpdateWalletState');
    expect(device.status().unsyncedKeys).toEqual(['notes', 'theme']);

    await device.deletePreference('notes');
    await expect(device.sync()).resolves.toMatchObject({ pushed: true, sequence: 1 });
  });

  it('when the CLI syncs a wallet made too big by a preference, then it exits 7 and says how to unset that preference', async () => {
    const cli = async (args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(['--server', proxy.url, '--state', path.join(dir, 'cli.json'), '--device', 'cli', '--scrypt-cost', '16384', ...args], {
        env: { WALLET_SYNC_PASSWORD: ROOT_PASSWORD },
        stdout: (text) => (stdout += text),
        stderr: (text) => (stderr += text),
        readSecret: () => Promise.reject(new Error('no terminal')),
      });
      return { code, stdout, stderr };
    };
    expect((await cli(['register', uniqueEmail('size-cli')])).code).toBe(ExitCode.Ok);
    expect((await cli(['set', 'my notes', 'y'.repeat(LIMIT)])).code).toBe(ExitCode.Ok);
    sent.length = 0;

    const run = await cli(['sync']);
    expect(run.code).toBe(ExitCode.Refused);
    expect(run.stderr).toContain(`to delete it: wallet-sync unset 'my notes'`);
    expect(sent).not.toContain('UpdateWalletState');
  });
});
