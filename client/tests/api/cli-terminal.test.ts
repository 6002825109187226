import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExitCode, runCli } from 'wallet-sync-client/cli';
import { escapeForTerminal, terminalJson, truncated } from '../../src/cli/terminal-text';
import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { uniqueEmail } from '../../../test-support/operations';
import { ROOT_PASSWORD, openDevice } from '../helpers/devices';
import { startGraphQLProxy, type GraphQLProxy } from '../helpers/graphql-proxy';

/** What must never reach a terminal from the wallet or the server: C0 (but newline), DEL, C1, bidi overrides. */
const DRIVES_TERMINAL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;
const CLEAR_SCREEN = '\x1b[2J\x1b[H';
const OSC52_CLIPBOARD = '\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07';
const C1_CSI = '\x9b31m';
const RIGHT_TO_LEFT = '\u202egnp.exe';

/**
 * Issue 25, item 8 (the client's CLI): text from the wallet or the server is
 * escaped before it reaches the terminal, in every command that prints it, and
 * --json stays exact for a JSON reader.
 */
describe('the wallet-sync CLI and terminal control characters', () => {
  let server: TestServer;
  let proxy: GraphQLProxy;
  let dir: string;

  beforeAll(async () => {
    server = await startTestServer();
    proxy = await startGraphQLProxy(server.url);
    dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-terminal-'));
  });
  afterEach(() => (proxy.rule = null));
  afterAll(async () => {
    await proxy.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function cli(device: string, args: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['--server', proxy.url, '--state', path.join(dir, `${device}.json`), '--device', device, '--scrypt-cost', '16384', ...args], {
      env: { WALLET_SYNC_PASSWORD: ROOT_PASSWORD },
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      readSecret: () => Promise.reject(new Error('no terminal')),
    });
    return { code, stdout, stderr };
  }

  it('when another device stored keys and values with escape sequences, then sync, get, status and the lost-edit lines print them escaped', async () => {
    const email = uniqueEmail('escape');
    const phone = await openDevice(server, 'phone');
    await phone.register(email, ROOT_PASSWORD);
    await phone.login();
    expect((await cli('laptop', ['login', email])).code).toBe(ExitCode.Ok);
    expect((await cli('laptop', ['set', `title${OSC52_CLIPBOARD}`, 'mine'])).code).toBe(ExitCode.Ok);
    await phone.setPreference(`title${OSC52_CLIPBOARD}`, `theirs${CLEAR_SCREEN}`);
    await phone.setPreference('colour', `red${C1_CSI}${RIGHT_TO_LEFT}`);
    await phone.sync();

    const runs = [await cli('laptop', ['sync']), await cli('laptop', ['get']), await cli('laptop', ['status']), await cli('laptop', ['get', 'colour'])];
    for (const run of runs) {
      expect(run.code).toBe(ExitCode.Ok);
      expect(run.stdout + run.stderr).not.toMatch(DRIVES_TERMINAL);
    }
    expect(runs[0].stdout).toContain('Overwritten: your unsynced title\\x1b]52;c;Y3VybCBldmlsIHwgc2g=\\x07 = mine lost to theirs\\x1b[2J\\x1b[H from device phone');
    expect(runs[1].stdout).toContain('colour = red\\x9b31m\\u202egnp.exe');
    expect(runs[3].stdout).toBe('red\\x9b31m\\u202egnp.exe\n');

    // --json is escaped for the terminal too, and reads back exactly.
    const json = await cli('laptop', ['get', '--json']);
    expect(json.stdout).not.toMatch(DRIVES_TERMINAL);
    expect(JSON.parse(json.stdout)).toEqual({ [`title${OSC52_CLIPBOARD}`]: `theirs${CLEAR_SCREEN}`, colour: `red${C1_CSI}${RIGHT_TO_LEFT}` });
  });

  it('when the server\'s error message carries escape sequences, then the CLI prints it escaped, in text and in --json', async () => {
    expect((await cli('tablet', ['register', uniqueEmail('hostile')])).code).toBe(ExitCode.Ok);
    proxy.rule = ({ operationName }) =>
      operationName === 'WalletState' ? { answer: { errors: [{ message: `refused${CLEAR_SCREEN}${C1_CSI}`, extensions: { code: 'BAD_REQUEST' } }] } } : undefined;
    const text = await cli('tablet', ['sync']);
    expect(text.code).toBe(ExitCode.Refused);
    expect(text.stderr).toBe('wallet-sync: refused\\x1b[2J\\x1b[H\\x9b31m\n');
    const json = await cli('tablet', ['sync', '--json']);
    expect(json.stdout).not.toMatch(DRIVES_TERMINAL);
    expect(JSON.parse(json.stdout).error.message).toBe(`refused${CLEAR_SCREEN}${C1_CSI}`);
  });

  it.each([
    ['ESC', '\x1b', '\\x1b'],
    ['BEL', '\x07', '\\x07'],
    ['DEL', '\x7f', '\\x7f'],
    ['C1 CSI', '\x9b', '\\x9b'],
    ['a newline, which would forge a line', '\n', '\\x0a'],
    ['a right-to-left override', '\u202e', '\\u202e'],
    ['a line separator', '\u2028', '\\u2028'],
    ['a backslash, so data cannot pass for an escape', '\\x1b', '\\\\x1b'],
  ])('when a value holds %s, then escapeForTerminal makes it visible', (_what, raw, shown) => {
    expect(escapeForTerminal(`a${raw}b`)).toBe(`a${shown}b`);
  });

  it('when text is printed with its lines kept or as JSON, or is long, then only what drives the terminal changes', () => {
    expect(escapeForTerminal('line 1\n\tline 2\x1b', { keepLines: true })).toBe('line 1\n\tline 2\\x1b');
    expect(escapeForTerminal('café ✓ 日本')).toBe('café ✓ 日本');
    expect(terminalJson({ v: '\x9b\u202e\n' })).toBe('{"v":"\\u009b\\u202e\\n"}');
    expect(truncated('x'.repeat(81))).toBe(`${'x'.repeat(80)}… (81 characters)`);
    expect(truncated('x'.repeat(80))).toBe('x'.repeat(80));
  });
});
