import { connect, type Socket } from 'node:net';
import { startTestServer, type TestServer } from '../helpers/app';
import { registerAndLogin, upload } from '../../test-support/operations';
import { subscribedAtSequence1, type LiveClient } from '../../test-support/subscriptions';

const TIMEOUT_MS = 1500;
/** Node looks for late requests every 500 ms; the rest is room for a loaded machine. */
const LATEST_408_MS = TIMEOUT_MS + 2000;

interface RawOutcome {
  /** Milliseconds from connecting to the first byte of the answer, and to the connection's close. */
  answeredAfter: number | undefined;
  closedAfter: number;
  response: string;
}

/** A raw TCP client: `feed` writes what it wants when it wants; resolves once the server closes the connection. */
function rawRequest(url: string, feed: (socket: Socket) => void): Promise<RawOutcome> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const start = Date.now();
    let answeredAfter: number | undefined;
    const chunks: Buffer[] = [];
    socket.on('connect', () => feed(socket));
    socket.on('data', (chunk) => {
      answeredAfter ??= Date.now() - start;
      chunks.push(chunk);
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve({ answeredAfter, closedAfter: Date.now() - start, response: Buffer.concat(chunks).toString() }));
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${LATEST_408_MS * 3} ms`));
    }, LATEST_408_MS * 3).unref();
  });
}

/** Writes `parts` one by one, `intervalMs` apart, until the socket closes. */
function trickle(socket: Socket, parts: string[], intervalMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= parts.length) return clearInterval(timer);
    socket.write(parts[i++]);
  }, intervalMs);
  socket.on('close', () => clearInterval(timer));
}

const BODY = JSON.stringify({ query: '{ serverInfo { apiVersion } }' });
const head = (host: string, length = BODY.length) =>
  `POST /graphql HTTP/1.1\r\nHost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;

describe('REQUEST_TIMEOUT_MS: a request must arrive whole in time', () => {
  let server: TestServer;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    server = await startTestServer({ REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => server.close());

  const host = () => new URL(server.url).host;

  it.each<[string, (socket: Socket) => void]>([
    // 400 bytes announced, one every 100 ms: the whole body would take 40 s.
    ['a body trickled a byte at a time', (socket) => {
      socket.write(head(host(), 400));
      trickle(socket, Array.from({ length: 400 }, () => ' '), 100);
    }],
    ['headers trickled a line at a time, never finished', (socket) => {
      socket.write(`POST /graphql HTTP/1.1\r\nHost: ${host()}\r\n`);
      trickle(socket, Array.from({ length: 400 }, (_, i) => `x-slow-${i}: ${i}\r\n`), 100);
    }],
    ['half a request line and then silence', (socket) => socket.write('POST /gra')],
    ['nothing at all after connecting', () => {}],
  ])('when a client sends %s, then it is answered 408 at the deadline and its connection closed within a second after', async (_case, feed) => {
    const outcome = await rawRequest(server.url, feed);
    expect(outcome.response).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(outcome.response).toMatch(/connection: close/i);
    const body = JSON.parse(outcome.response.split('\r\n\r\n')[1]) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors[0].extensions.code).toBe('REQUEST_TIMEOUT');
    expect(body.errors[0].message).toContain(`${TIMEOUT_MS} ms`);
    expect(outcome.answeredAfter).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(outcome.answeredAfter).toBeLessThanOrEqual(LATEST_408_MS);
    expect(outcome.closedAfter - outcome.answeredAfter!).toBeLessThan(1000);
  });

  it('when a slow client still gets the whole request in before the deadline, then it is answered as usual', async () => {
    const outcome = await rawRequest(server.url, (socket) => {
      // The body in 5 pieces over ~0.5 s, then the client closes its side once answered.
      socket.write(head(host()));
      const pieces = BODY.match(/.{1,12}/g)!;
      trickle(socket, pieces, 500 / pieces.length);
      socket.once('data', () => socket.end());
    });
    expect(outcome.response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(outcome.response).toContain('"apiVersion"');
  });

  it('when a WebSocket stays open past the request timeout, then it is not cut off and still hears updates', async () => {
    const device = await registerAndLogin(server);
    await upload(server, device, 1);
    const { subscription } = await subscribedAtSequence1(server.url, device.token, clients);
    // Twice the timeout and a check interval: a socket still counted as a pending request would have been cut by now.
    await new Promise((resolve) => setTimeout(resolve, 2 * TIMEOUT_MS + 500));
    await upload(server, device, 2);
    expect(await subscription.next()).toBe(2);
  });
});
