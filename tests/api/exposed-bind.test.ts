import { networkInterfaces } from 'node:os';
import { startTestServer, type TestServer } from '../helpers/app';

/**
 * A server bound to an address other machines can reach. Prefers a real
 * interface address of this machine; without one, the wildcard 0.0.0.0 (also
 * not loopback, reached here through 127.0.0.1).
 */
function exposedHost(): { host: string; reachAt: string } {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return { host: address.address, reachAt: address.address };
  }
  return { host: '0.0.0.0', reachAt: '127.0.0.1' };
}

const EXPOSED = exposedHost();
const METRICS_TOKEN = 'scrape-token-0123456789abcdef';

async function startExposed(env: Record<string, string>): Promise<TestServer & { base: string }> {
  const server = await startTestServer({ HOST: EXPOSED.host, ACCOUNT_VERIFICATION_MODE: 'AllowAll', ...env });
  const base = `http://${EXPOSED.reachAt}:${new URL(server.url).port}`;
  return { ...server, base };
}

const post = async (base: string, query: string) => {
  const response = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> } };
};

/** What the server tells a stranger about its schema. */
async function schemaDescription(base: string) {
  const introspection = await post(base, '{ __schema { queryType { name } } }');
  const typo = await post(base, '{ serverInf { apiVersion } }');
  const landing = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
  return {
    introspection: introspection.body.data !== undefined && introspection.body.errors === undefined,
    suggestions: /Did you mean/.test(typo.body.errors?.[0]?.message ?? ''),
    landingPage: landing.status === 200 && (landing.headers.get('content-type') ?? '').startsWith('text/html'),
  };
}

describe(`a server bound to a non-loopback address (${EXPOSED.host})`, () => {
  it.each<[string, 'on' | 'off', Record<string, string>]>([
    ['NODE_ENV unset (development)', 'off', {}],
    ['NODE_ENV=development', 'off', { NODE_ENV: 'development' }],
    ['NODE_ENV=test', 'off', { NODE_ENV: 'test' }],
    ['NODE_ENV=production', 'off', { NODE_ENV: 'production' }],
    ['INTROSPECTION=off', 'off', { NODE_ENV: 'development', INTROSPECTION: 'off' }],
    ['INTROSPECTION=on', 'on', { INTROSPECTION: 'on' }],
    ['INTROSPECTION=on and NODE_ENV=production', 'on', { NODE_ENV: 'production', INTROSPECTION: 'on' }],
  ])('when %s, then introspection, field suggestions and the landing page are all %s', async (_case, onOff, env) => {
    const shown = onOff === 'on';
    // TEST_ENV sets NODE_ENV=test: "unset" removes it.
    const server = await startExposed({ ...env, ...(env.NODE_ENV === undefined ? { NODE_ENV: '' } : {}) });
    try {
      expect(await schemaDescription(server.base)).toEqual({ introspection: shown, suggestions: shown, landingPage: shown });
    } finally {
      await server.close();
    }
  });

  it.each<[string, number, Record<string, string>, string | undefined]>([
    ['neither METRICS_TOKEN nor METRICS_PUBLIC, no header', 401, {}, undefined],
    ['neither METRICS_TOKEN nor METRICS_PUBLIC, any bearer token', 401, {}, `Bearer ${METRICS_TOKEN}`],
    ['METRICS_TOKEN, no header', 401, { METRICS_TOKEN }, undefined],
    ['METRICS_TOKEN, a wrong token of the same length', 401, { METRICS_TOKEN }, `Bearer ${METRICS_TOKEN.replace(/.$/, 'X')}`],
    ['METRICS_TOKEN, the token with a character more', 401, { METRICS_TOKEN }, `Bearer ${METRICS_TOKEN}x`],
    ['METRICS_TOKEN, the token without the Bearer scheme', 401, { METRICS_TOKEN }, METRICS_TOKEN],
    ['METRICS_TOKEN, the token', 200, { METRICS_TOKEN }, `Bearer ${METRICS_TOKEN}`],
    ['METRICS_PUBLIC=on, no header', 200, { METRICS_PUBLIC: 'on' }, undefined],
  ])('when /metrics is asked with %s, then %s', async (_case, status, env, authorization) => {
    const server = await startExposed(env);
    try {
      const response = await fetch(`${server.base}/metrics`, { headers: authorization ? { authorization } : {} });
      expect(response.status).toBe(status);
      const text = await response.text();
      if (status === 200) expect(text).toContain('wallet_sync_graphql_requests_total');
      else {
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
        expect(JSON.parse(text).errors[0].extensions.code).toBe('UNAUTHENTICATED');
        expect(text).not.toContain('wallet_sync');
      }
    } finally {
      await server.close();
    }
  });
});

describe('a server bound to loopback (the control)', () => {
  it.each<[string, string, Record<string, string>, { introspection: boolean; suggestions: boolean; landingPage: boolean }]>([
    ['NODE_ENV unset (development)', 'all on', { NODE_ENV: '' }, { introspection: true, suggestions: true, landingPage: true }],
    ['NODE_ENV=test', 'introspection only', {}, { introspection: true, suggestions: false, landingPage: false }],
    ['NODE_ENV=production', 'all off', { NODE_ENV: 'production' }, { introspection: false, suggestions: false, landingPage: false }],
  ])('when %s, then introspection, suggestions and landing page are %s, as before', async (_case, _label, env, expected) => {
    const server = await startTestServer(env);
    try {
      expect(await schemaDescription(server.url)).toEqual(expected);
    } finally {
      await server.close();
    }
  });

  it.each<[string, number, Record<string, string>, string | undefined]>([
    ['no METRICS_TOKEN', 200, {}, undefined],
    ['METRICS_TOKEN, no header', 401, { METRICS_TOKEN }, undefined],
    ['METRICS_TOKEN, the token', 200, { METRICS_TOKEN }, `Bearer ${METRICS_TOKEN}`],
  ])('when /metrics is asked with %s, then %s', async (_case, status, env, authorization) => {
    const server = await startTestServer(env);
    try {
      expect((await fetch(`${server.url}/metrics`, { headers: authorization ? { authorization } : {} })).status).toBe(status);
    } finally {
      await server.close();
    }
  });
});

describe('a server on loopback behind a reverse proxy (TRUST_PROXY not off)', () => {
  it.each<[string, Record<string, string>]>([
    ['TRUST_PROXY=on', { TRUST_PROXY: 'on' }],
    ['TRUST_PROXY=1, NODE_ENV unset (development)', { TRUST_PROXY: '1', NODE_ENV: '' }],
  ])('when %s, then it is treated as exposed: no schema description, and /metrics needs its token', async (_case, env) => {
    const server = await startTestServer({ ACCOUNT_VERIFICATION_MODE: 'AllowAll', ...env });
    try {
      expect(await schemaDescription(server.url)).toEqual({ introspection: false, suggestions: false, landingPage: false });
      expect((await fetch(`${server.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(401);
    } finally {
      await server.close();
    }
  });

  it('when no verification mode is set, then the start stops naming ACCOUNT_VERIFICATION_MODE and the proxy', async () => {
    await expect(startTestServer({ TRUST_PROXY: 'on' })).rejects.toThrow(/ACCOUNT_VERIFICATION_MODE.*behind a proxy/);
  });
});
