import http from 'node:http';
import net from 'node:net';
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
    expect(await allowed.json()).toEqual({ data: { serverInfo: { apiVersion: '3' } } });
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

describe('a body over the limit is answered, never reset', () => {
  // The default limit (2 × MAX_WALLET_BYTES + 64 KiB, about 2 MB): the answer comes while the client is still sending.
  const server = useTestServer();

  interface Outcome {
    status?: number;
    code?: string;
    /** Socket errors seen while sending or reading (ECONNRESET, EPIPE), even after the answer came. */
    errors: string[];
  }

  /** POSTs `size` bytes with node:http on a fresh connection, as a wallet app's upload would: what came back, and every error until the request closed. */
  const postBig = (size: number, chunked: boolean) =>
    new Promise<Outcome>((resolve) => {
      const { hostname, port } = new URL(server.url);
      const body = Buffer.alloc(size, 'x');
      body.write('{"query":"{ serverInfo { apiVersion } }","x":"', 0);
      body.write('"}', size - 2);
      const outcome: Outcome = { errors: [] };
      const request = http.request({
        host: hostname,
        port,
        path: '/graphql',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(size) }) },
      });
      request.on('error', (error: NodeJS.ErrnoException) => outcome.errors.push(error.code ?? error.message));
      request.on('response', (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          outcome.status = response.statusCode;
          outcome.code = JSON.parse(text).errors?.[0]?.extensions?.code;
          // The answer is read: this client is done with the connection (as fetch would be once the body is read).
          setTimeout(() => request.destroy(), 200);
        });
        response.on('error', (error: NodeJS.ErrnoException) => outcome.errors.push(error.code ?? error.message));
      });
      request.on('close', () => resolve(outcome));
      // In 64 KiB writes, as a stream of a file would go.
      for (let offset = 0; offset < size; offset += 64 * 1024) request.write(body.subarray(offset, offset + 64 * 1024));
      request.end();
    });

  it.each<[string, boolean]>([
    ['with a content-length', false],
    ['chunked', true],
  ])('when 8 MB bodies are POSTed 8 times (%s), then every one gets the 413 with PAYLOAD_TOO_LARGE, none a reset or EPIPE', async (_case, chunked) => {
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 8; i += 1) outcomes.push(await postBig(8 * 1024 * 1024, chunked));
    expect(outcomes).toEqual(Array.from({ length: 8 }, () => ({ status: 413, code: 'PAYLOAD_TOO_LARGE', errors: [] })));
  });

  it('when a client keeps sending past 32 MiB more, then the server answers and closes the connection, reading no further', async () => {
    const { hostname, port } = new URL(server.url);
    const socket = net.connect(Number(port), hostname);
    let answer = '';
    let written = 0;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.from(`10000\r\n${'x'.repeat(0x10000)}\r\n`);
    let open = true;
    void closed.then(() => (open = false));
    while (open && written < 256 * 1024 * 1024) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
      written += 0x10000;
    }
    await closed;
    // Past the bound the connection closes while the client is still sending: the answer goes out, but a reset may overtake it.
    if (answer !== '') expect(answer).toMatch(/^HTTP\/1\.1 413[^]*PAYLOAD_TOO_LARGE/);
    // What the kernel's buffers held when the server stopped reading comes on top of the 32 MiB (plus the limit itself).
    expect(written).toBeLessThan(48 * 1024 * 1024);
  });
});
