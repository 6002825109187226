import { startTestServer } from '../helpers/app';
import { useTestServer } from '../helpers/hooks';

describe('the HTTP surface', () => {
  const server = useTestServer({ BODY_LIMIT_BYTES: '4096' });

  const post = (body: string, headers: Record<string, string>) => fetch(`${server.url}/graphql`, { method: 'POST', headers, body });

  it('when /healthz is asked, then 200', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('when /readyz is asked while the database answers, then 200', async () => {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('when a GET query carries no CSRF preflight header, then 400; with apollo-require-preflight, then it runs', async () => {
    const url = `${server.url}/graphql?query=${encodeURIComponent('{ serverInfo { apiVersion } }')}`;
    const blocked = await fetch(url);
    expect(blocked.status).toBe(400);
    const allowed = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({ data: { serverInfo: { apiVersion: '2' } } });
  });

  it.each<[string, string, Record<string, string>, number, string]>([
    ['malformed JSON', '{"query": "{ serverInfo { apiVersion } }"', { 'content-type': 'application/json' }, 400, 'BAD_REQUEST'],
    ['an empty JSON body', '', { 'content-type': 'application/json' }, 400, 'BAD_REQUEST'],
    ['a JSON body that is not an object', '"hello"', { 'content-type': 'application/json' }, 400, 'BAD_REQUEST'],
    ['a text/plain body (CSRF prevention)', '{"query":"{ serverInfo { apiVersion } }"}', { 'content-type': 'text/plain' }, 400, 'BAD_REQUEST'],
    ['an unsupported content type', '<query/>', { 'content-type': 'application/xml' }, 415, 'BAD_REQUEST'],
    ['a body over the limit', JSON.stringify({ query: `{ serverInfo { apiVersion } } #${'x'.repeat(5000)}` }), { 'content-type': 'application/json' }, 413, 'PAYLOAD_TOO_LARGE'],
  ])('when the request has %s, then a 4xx answer with a code and no internals', async (_name, body, headers, status, code) => {
    const response = await post(body, headers);
    expect(response.status).toBe(status);
    const json = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(json.errors[0].extensions.code).toBe(code);
    expect(json.errors[0].message.length).toBeGreaterThan(0);
    expect(JSON.stringify(json)).not.toMatch(/at .*\.(js|ts):\d+|node_modules|stack/);
  });

  it('when any route answers, then it carries a request id and no x-powered-by', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('when a route does not exist, then 404 in the same error shape', async () => {
    const response = await fetch(`${server.url}/nope`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('NOT_FOUND');
  });
});

describe('readiness when the database is gone', () => {
  it('when the database connection is closed, then /readyz answers 503 while /healthz stays 200', async () => {
    const server = await startTestServer();
    try {
      await server.app.db.close();
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
