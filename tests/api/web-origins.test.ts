import type { TestServer } from '../helpers/app';
import { useTestServer } from '../helpers/hooks';
import { registerAndLogin } from '../../test-support/operations';
import { tryUpgrade } from '../../test-support/subscriptions';

const WEB_APP = 'https://wallet.example.com';
const EXTENSION = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
const STRANGER = 'https://evil.example.net';
/** Stands for the server's own origin, known once it listens. */
const OWN = 'the server\'s own origin';
const SERVER_INFO = JSON.stringify({ query: '{ serverInfo { apiVersion } }' });

/** Every CORS header of an answer, by name. */
function corsHeaders(response: Response): Record<string, string> {
  return Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('access-control-')));
}

const preflight = (url: string, origin: string) =>
  fetch(`${url}/graphql`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
const post = (url: string, origin: string | undefined) =>
  fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) }, body: SERVER_INFO });

/** What PROTOCOL.md ("Limits") gives a listed origin's preflight: that origin, GET and POST, three headers, no credentials. */
function expectPreflightAllowed(response: Response, origin: string) {
  expect(response.status).toBe(204);
  expect(corsHeaders(response)).toEqual({
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'GET, POST',
    'access-control-allow-headers': 'authorization, content-type, apollo-require-preflight',
    'access-control-max-age': '600',
  });
  expect(response.headers.get('vary')).toMatch(/\borigin\b/i);
}

/** Bare WebSocket upgrades from each origin (undefined: none, a native app), each with a valid token: 101 with connection_ack, or refused. */
function itAnswersUpgrades(server: TestServer, rows: Array<[string, number, string | undefined]>) {
  it.each(rows)('when a WebSocket upgrade comes from %s, then it is answered %i (a refusal before any graphql-ws message)', async (_name, status, origin) => {
    const device = await registerAndLogin(server);
    const answer = await tryUpgrade(server.url, device.token, origin === OWN ? server.url : origin);
    expect(answer.status).toBe(status);
    if (status !== 101) expect(answer.messages).toEqual([]);
  });
}

describe('web origins, when CORS_ORIGINS lists a web app and an extension', () => {
  const server = useTestServer({ CORS_ORIGINS: `${WEB_APP},${EXTENSION}` });

  it.each([[WEB_APP], [EXTENSION]])('when %s sends a preflight, then it is allowed with that origin and Vary: Origin', async (origin) => {
    expectPreflightAllowed(await preflight(server.url, origin), origin);
  });

  it.each([[WEB_APP], [EXTENSION]])('when %s posts a query, then the answer names that origin, varies on it and allows no credentials', async (origin) => {
    const response = await post(server.url, origin);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { serverInfo: { apiVersion: '3' } } });
    expect(corsHeaders(response)).toEqual({ 'access-control-allow-origin': origin });
    expect(response.headers.get('vary')).toMatch(/\borigin\b/i);
  });

  it.each([[STRANGER], ['https://wallet.example.com.evil.example.net'], ['http://wallet.example.com'], ['null']])(
    'when an unlisted origin (%s) sends a preflight or a query, then no CORS header comes back',
    async (origin) => {
      const refused = await preflight(server.url, origin);
      expect(corsHeaders(refused)).toEqual({});
      expect(refused.status).toBe(400);
      const answered = await post(server.url, origin);
      expect(corsHeaders(answered)).toEqual({});
    },
  );

  it('when a request has no Origin (a native app, curl), then it is answered without CORS headers', async () => {
    const response = await post(server.url, undefined);
    expect(response.status).toBe(200);
    expect(corsHeaders(response)).toEqual({});
  });

  itAnswersUpgrades(server, [
    ['a listed web app', 101, WEB_APP],
    ['a listed extension', 101, EXTENSION],
    ['no Origin (a native app)', 101, undefined],
    [`${OWN}, not listed`, 101, OWN],
    ['an unlisted origin', 403, STRANGER],
    ['the opaque origin "null"', 403, 'null'],
  ]);
});

describe('web origins, when CORS_ORIGINS=*', () => {
  const server = useTestServer({ CORS_ORIGINS: '*' });

  it.each([[WEB_APP], [STRANGER]])('when %s sends a preflight or a query, then that origin is allowed', async (origin) => {
    expectPreflightAllowed(await preflight(server.url, origin), origin);
    expect(corsHeaders(await post(server.url, origin))).toEqual({ 'access-control-allow-origin': origin });
  });

  itAnswersUpgrades(server, [
    ['any origin', 101, STRANGER],
    ['no Origin (a native app)', 101, undefined],
  ]);
});

describe('web origins, when CORS_ORIGINS is unset', () => {
  const server = useTestServer();

  it('when any origin sends a preflight or a query, then no CORS header comes back at all', async () => {
    const refused = await preflight(server.url, WEB_APP);
    expect(corsHeaders(refused)).toEqual({});
    expect(refused.headers.get('vary') ?? '').not.toMatch(/\borigin\b/i);
    const answered = await post(server.url, WEB_APP);
    expect(answered.status).toBe(200);
    expect(corsHeaders(answered)).toEqual({});
  });

  itAnswersUpgrades(server, [
    ['another origin', 403, WEB_APP],
    ['no Origin (a native app)', 101, undefined],
    [OWN, 101, OWN],
  ]);
});
