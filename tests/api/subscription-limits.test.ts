import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Writable } from 'node:stream';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createLogger } from '../../src/lib/logger';
import { postGraphQL } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { login, registerAndLogin, upload, type Device } from '../../test-support/operations';
import { connectLive, subscribedAtSequence1, within, wsUrl, type LiveClient } from '../../test-support/subscriptions';

/** Limits small enough to reach with the one subscription this schema has (`walletUpdated { sequence }`: depth 2). */
const LIMITED = {
  GRAPHQL_MAX_ALIASES: '3',
  GRAPHQL_MAX_TOKENS: '600',
  WS_MAX_CONNECTIONS_PER_ACCOUNT: '2',
  WS_MESSAGE_BUDGET: '6/60',
  // The message budget is a rate limit: RATE_LIMITS=off (the tests' default) lifts it.
  RATE_LIMITS: 'on',
};

/** The first thing a subscription answers: its data, or the distinct codes of its errors. */
function firstOutcome(client: Client, query: string): Promise<{ codes: string[]; messages: string[] } | { data: unknown }> {
  return new Promise((resolve) => {
    const stop = client.subscribe(
      { query },
      {
        next: (result) => {
          stop();
          resolve(result.errors ? { codes: [...new Set(result.errors.map((e) => String(e.extensions?.code)))], messages: result.errors.map((e) => e.message) } : { data: result.data });
        },
        error: (errors) => {
          const list = Array.isArray(errors) ? errors : [errors];
          resolve({ codes: [...new Set(list.map((e: any) => String(e?.extensions?.code)))], messages: list.map((e: any) => String(e?.message)) });
        },
        complete: () => {},
      },
    );
  });
}

const aliased = (n: number) => `subscription { walletUpdated { ${Array.from({ length: n }, (_, i) => `a${i}: sequence`).join(' ')} } }`;

describe('the WebSocket path keeps the document limits of HTTP', () => {
  const lines: Array<{ level: number; msg: string; errorCodes?: string[]; err?: unknown }> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  let server: TestServer;
  let device: Device;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    server = await startTestServer(LIMITED, { logger: createLogger('info', sink) });
    device = await registerAndLogin(server);
    await upload(server, device, 1);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => server.close());

  const live = async () => {
    const client = connectLive(server.url, device.token);
    clients.push(client);
    await client.connected;
    return client;
  };

  it.each<[string, string, string]>([
    ['150 aliases', 'GRAPHQL_VALIDATION_FAILED', aliased(150)],
    ['4 aliases (over GRAPHQL_MAX_ALIASES=3)', 'GRAPHQL_VALIDATION_FAILED', aliased(4)],
    ['a document over GRAPHQL_MAX_TOKENS', 'GRAPHQL_PARSE_FAILED', `subscription { walletUpdated { ${'__typename '.repeat(600)}sequence } }`],
    ['a syntax error', 'GRAPHQL_PARSE_FAILED', 'subscription { walletUpdated { sequence }'],
    ['an unknown field', 'GRAPHQL_VALIDATION_FAILED', 'subscription { walletUpdatd { sequence } }'],
    ['more directives than allowed', 'GRAPHQL_VALIDATION_FAILED', `subscription { walletUpdated { sequence ${'@include(if: true) '.repeat(11)} } }`],
  ])('when a subscribe message carries %s, then it is refused with %s, as over HTTP, and the connection stays usable', async (_case, code, query) => {
    const client = await live();
    const outcome = await within(firstOutcome(client.client, query), 5000, 'the refusal');
    expect(outcome).toMatchObject({ codes: [code] });
    // The same document over HTTP: the same code.
    expect((await postGraphQL(server.url, query, undefined, device.token)).body.errors?.[0]?.extensions?.code).toBe(code);
    // A refused operation does not end the connection.
    const fine = await within(firstOutcome(client.client, 'subscription { walletUpdated(sinceSequence: 0) { sequence } }'), 5000, 'a valid subscription');
    expect(fine).toEqual({ data: { walletUpdated: { sequence: 1 } } });
  });

  it.each<[string, string, Record<string, string>]>([
    ['GRAPHQL_MAX_DEPTH=1 (walletUpdated { sequence } is 2 deep, the root field counting as 1)', 'GRAPHQL_VALIDATION_FAILED', { GRAPHQL_MAX_DEPTH: '1' }],
    ['GRAPHQL_MAX_COST=1', 'GRAPHQL_VALIDATION_FAILED', { GRAPHQL_MAX_COST: '1' }],
  ])('when a server runs with %s, then the subscription is refused with %s, as the same limit over HTTP', async (_case, code, env) => {
    // A second server on the same database: the device's token works there, and the limit is its own.
    const strict = await startTestServer({ ...LIMITED, ...env, DATABASE_URL: server.database.url });
    try {
      const client = connectLive(strict.url, device.token);
      clients.push(client);
      await client.connected;
      const outcome = await within(firstOutcome(client.client, 'subscription { walletUpdated(sinceSequence: 0) { sequence } }'), 5000, 'the refusal');
      expect(outcome).toMatchObject({ codes: [code] });
      expect((await postGraphQL(strict.url, '{ serverInfo { apiVersion } }')).body.errors?.[0]?.extensions?.code).toBe(code);
      // The root field alone is depth 1 and cheap: within both limits.
      expect((await postGraphQL(strict.url, '{ __typename }')).body.errors).toBeUndefined();
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.dispose()));
      await strict.close();
    }
  });

  it('when a refused document misspells a field, then the suggestion is hidden as over HTTP', async () => {
    const client = await live();
    const outcome = await firstOutcome(client.client, 'subscription { walletUpdated { sequenc } }');
    expect(outcome).toMatchObject({ codes: ['GRAPHQL_VALIDATION_FAILED'] });
    expect((outcome as { messages: string[] }).messages.join(' ')).not.toMatch(/Did you mean/);
  });

  it('when one subscribe message carries 150 aliases, then the server logs one info line with the code and no error line', async () => {
    const client = await live();
    const before = lines.length;
    await firstOutcome(client.client, aliased(150));
    const written = lines.slice(before);
    expect(written.filter((line) => line.level >= 50)).toEqual([]);
    const refused = written.filter((line) => line.msg === 'graphql request');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: 30, transport: 'websocket', outcome: 'error', errorCodes: ['GRAPHQL_VALIDATION_FAILED'] });
  });
});

describe('WebSocket connection limits', () => {
  let server: TestServer;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    server = await startTestServer(LIMITED);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => server.close());

  const open = async (token: string) => {
    const client = connectLive(server.url, token);
    clients.push(client);
    await client.connected;
    return client;
  };

  it('when an account opens one connection more than WS_MAX_CONNECTIONS_PER_ACCOUNT, then its oldest is closed with 4429 and the others keep hearing updates', async () => {
    const device = await registerAndLogin(server);
    const other = await registerAndLogin(server);
    await upload(server, device, 1);
    await upload(server, other, 1);
    const first = await subscribedAtSequence1(server.url, device.token, clients);
    const second = await subscribedAtSequence1(server.url, device.token, clients);
    const elsewhere = await subscribedAtSequence1(server.url, other.token, clients);
    const third = await subscribedAtSequence1(server.url, device.token, clients);

    expect(await within(first.client.closed, 5000, 'the oldest closed')).toEqual({ code: 4429, reason: 'Too many connections for this account' });
    await upload(server, device, 2);
    expect(await second.subscription.next()).toBe(2);
    expect(await third.subscription.next()).toBe(2);
    // Another account's connection is not counted against this one.
    await upload(server, other, 2);
    expect(await elsewhere.subscription.next()).toBe(2);
  });

  it('when a connection sends more messages than WS_MESSAGE_BUDGET, then it is closed with 4429; a connection within it is not', async () => {
    const device = await registerAndLogin(server);
    expect(await sendMessages(server.url, device.token, 6)).toBe('open');
    expect(await sendMessages(server.url, device.token, 7)).toEqual({ code: 4429, reason: 'Too many messages' });
  });
});

/** A bare TCP client that completes the WebSocket handshake and then neither sends nor answers anything (not even a close frame). */
function silentUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; ended: Promise<number> }> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  const ended = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
  socket.on('error', () => {});
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.write(
    'GET /graphql HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n${extra}\r\n`,
  );
  return new Promise((resolve) => {
    socket.once('data', (chunk) => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(chunk.toString())?.[1] ?? 0), ended }));
  });
}

describe('a WebSocket connection that never says connection_init', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('when a connection sends no connection_init, then it is dropped (1006, no close handshake) after 3 s, not before', async () => {
    const socket = new WebSocket(wsUrl(server.url), 'graphql-transport-ws');
    const opened = await new Promise<number>((resolve) => socket.on('open', () => resolve(Date.now())));
    const closed = await within(
      new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
      6000,
      'close',
    );
    expect(closed).toEqual({ code: 1006, reason: '' });
    // Measured from the client's open event, which may come a little after the server counted the socket open.
    expect(Date.now() - opened).toBeGreaterThanOrEqual(2500);
  });

  it('when a peer that never answers a close frame sends no connection_init, then the server lets go of its TCP connection by 4.5 s (not after the 30 s close wait)', async () => {
    const started = Date.now();
    const { status, ended } = await silentUpgrade(server.url);
    expect(status).toBe(101);
    const endedAt = await within(ended, 6000, 'the server dropping the connection');
    expect(endedAt - started).toBeGreaterThanOrEqual(2500);
    expect(endedAt - started).toBeLessThan(4500);
  });
});

describe('connections that have not sent connection_init count against a per-IP budget', () => {
  let server: TestServer;
  const open: WebSocket[] = [];
  beforeAll(async () => {
    server = await startTestServer({ RATE_LIMITS: 'on', TRUST_PROXY: 'on', ACCOUNT_VERIFICATION_MODE: 'AllowAll' });
  });
  afterEach(() => {
    for (const socket of open.splice(0)) socket.terminate();
  });
  afterAll(() => server.close());

  /** An upgrade from `ip` (through the trusted proxy): the status the server answered (101 when it opened). */
  const upgrade = (ip: string) =>
    new Promise<number>((resolve) => {
      const socket = new WebSocket(wsUrl(server.url), 'graphql-transport-ws', { headers: { 'x-forwarded-for': ip } });
      open.push(socket);
      socket.on('error', () => {});
      socket.on('open', () => resolve(101));
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    });

  it('when one address holds 50 connections without connection_init, then its 51st upgrade is refused with 429 while other addresses still connect', async () => {
    const statuses = await Promise.all(Array.from({ length: 50 }, () => upgrade('10.9.9.9')));
    expect(statuses.every((status) => status === 101)).toBe(true);
    expect(await upgrade('10.9.9.9')).toBe(429);
    expect(await upgrade('10.9.9.10')).toBe(101);
  });

  it('when an IPv6 /64 holds 50 of them, then another address of that /64 is refused, and one of another /64 is not', async () => {
    const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => upgrade(`2001:db8:1:2::${(i + 1).toString(16)}`)));
    expect(statuses.every((status) => status === 101)).toBe(true);
    expect(await upgrade('2001:db8:1:2:ffff::1')).toBe(429);
    expect(await upgrade('2001:db8:1:3::1')).toBe(101);
  });

  it('when pending connections send connection_init or close, then they no longer count', async () => {
    const device = await registerAndLogin(server);
    const ip = '10.9.9.11';
    await Promise.all(Array.from({ length: 49 }, () => upgrade(ip)));
    const live = new WebSocket(wsUrl(server.url), 'graphql-transport-ws', { headers: { 'x-forwarded-for': ip } });
    open.push(live);
    await new Promise((resolve) => live.on('open', resolve));
    const acked = new Promise((resolve) => live.on('message', (data) => String(data).includes('connection_ack') && resolve(undefined)));
    live.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${device.token}` } }));
    await within(acked, 5000, 'connection_ack');
    expect(await upgrade(ip)).toBe(101);
    expect(await upgrade(ip)).toBe(429);
    open[0].terminate();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await upgrade(ip)).toBe(101);
  });
});

describe('the WebSocket message budget is a window that starts again', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ WS_MESSAGE_BUDGET: '4/2', RATE_LIMITS: 'on' });
  });
  afterAll(() => server.close());

  it('when a connection spends its budget, waits out the window and sends as much again, then it stays open', async () => {
    const device = await registerAndLogin(server);
    // connection_init and 3 pings fill the window's budget; once its 2 s are over, 4 more pings fit in the next one.
    // (2 s rather than 1, so that a slow connection_ack under load cannot split the first 4 messages over two windows.)
    expect(await sendMessages(server.url, device.token, 4, { pauseMs: 2100, more: 4 })).toBe('open');
    expect(await sendMessages(server.url, device.token, 4, { pauseMs: 0, more: 1 })).toEqual({ code: 4429, reason: 'Too many messages' });
  });
});

/**
 * Opens a raw graphql-transport-ws connection and sends `count` messages (connection_init, then pings, each
 * answered by a pong), then, after `then.pauseMs`, `then.more` pings. Resolves with its close, or 'open' when it
 * was still open 300 ms after the last pong (and is then closed by the test).
 */
function sendMessages(url: string, token: string, count: number, then?: { pauseMs: number; more: number }): Promise<{ code: number; reason: string } | 'open'> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl(url), 'graphql-transport-ws');
    const pings = (n: number) => {
      for (let i = 0; i < n; i += 1) socket.send(JSON.stringify({ type: 'ping' }));
    };
    const expected = count - 1 + (then?.more ?? 0);
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    });
    let pongs = 0;
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      // Once acknowledged, graphql-ws pings: each is a message of the budget (connection_init was the first).
      if (message.type === 'connection_ack') pings(count - 1);
      if (message.type !== 'pong') return;
      pongs += 1;
      if (then && pongs === count - 1) setTimeout(() => pings(then.more), then.pauseMs);
      if (pongs === expected) setTimeout(() => (socket.close(), resolve('open')), 300);
    });
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

/**
 * Issue 25, item 1: a peer that never reads must not grow the server's memory. PROTOCOL.md "Limits": past 256 KiB
 * waiting to go out the connection is closed with 4429, pings are answered without their payload, and only the pong
 * that answers the server's own ping keeps a connection alive.
 */
describe('a WebSocket peer that does not read, or answers pings it was not sent', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ WS_KEEPALIVE_MS: '300' });
  });
  afterAll(() => server.close());

  /** A raw graphql-transport-ws connection past connection_ack; `options` go to ws (e.g. autoPong). */
  async function initialised(token: string, options: WebSocket.ClientOptions = {}, at: TestServer = server) {
    const socket = new WebSocket(wsUrl(at.url), 'graphql-transport-ws', options);
    const messages: Array<Record<string, unknown>> = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    await new Promise((resolve) => socket.on('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    await within((async () => { while (!messages.some((m) => m.type === 'connection_ack')) await new Promise((r) => setTimeout(r, 20)); })(), 5000, 'connection_ack');
    return { socket, messages, closed };
  }

  it('when a graphql-ws ping carries a payload, then the pong carries none', async () => {
    const device = await registerAndLogin(server);
    const { socket, messages } = await initialised(device.token);
    socket.send(JSON.stringify({ type: 'ping', payload: { filler: 'x'.repeat(60_000) } }));
    await within((async () => { while (!messages.some((m) => m.type === 'pong')) await new Promise((r) => setTimeout(r, 20)); })(), 5000, 'pong');
    expect(messages.find((m) => m.type === 'pong')).toEqual({ type: 'pong' });
    socket.close();
  });

  it('when a subscriber stops reading while its events pile up, then past 256 KiB waiting the server closes it with 4429 and sends no more', async () => {
    // A server of its own, with the default keep-alive: this describe's 300 ms one would cut the paused peer off first.
    const own = await startTestServer();
    try {
    const writer = await registerAndLogin(own, 'writer');
    const reader = await login(own, writer.email, writer.password, 'reader');
    const { socket, messages, closed } = await initialised(reader.token, {}, own);
    // Eight subscriptions (a connection's most): each event goes out eight times, so the kernel's buffers fill sooner.
    for (let id = 1; id <= 8; id += 1) {
      socket.send(JSON.stringify({ id: String(id), type: 'subscribe', payload: { query: 'subscription { walletUpdated { sequence walletState { encryptedWallet } } }' } }));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The reader stops reading from its TCP socket: what the server sends fills the kernel's buffers, then the server's.
    const tcp = (socket as unknown as { _socket: import('node:net').Socket })._socket;
    tcp.pause();
    const wallet = 'w'.repeat(200_000);
    const uploads = 48;
    for (let sequence = 1; sequence <= uploads; sequence += 1) await upload(own, writer, sequence, `${sequence}:${wallet}`);
    tcp.resume();
    expect(await within(closed, 15_000, 'the non-reading socket closed')).toEqual({ code: 4429, reason: 'Not reading: too much waiting to be sent' });
    // What reached it is what was already on its way when the server stopped: fewer events than were written.
    const events = messages.filter((m) => m.type === 'next');
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThan(8 * uploads);
    } finally {
      await own.close();
    }
  });

  it('when a protocol-level ping carries a payload, then the pong frame carries none', async () => {
    const device = await registerAndLogin(server);
    const { socket } = await initialised(device.token);
    const pong = new Promise<Buffer>((resolve) => socket.on('pong', resolve));
    socket.ping(Buffer.from('p'.repeat(100)));
    expect((await within(pong, 5000, 'pong frame')).length).toBe(0);
    socket.close();
  });

  it('when a peer never answers the server\'s pings but sends pongs of its own, then it is cut off; a peer that answers stays', async () => {
    const device = await registerAndLogin(server);
    const faking = await initialised(device.token, { autoPong: false });
    const unasked = setInterval(() => faking.socket.readyState === faking.socket.OPEN && faking.socket.pong(), 30);
    const answering = await initialised(device.token);
    try {
      expect(await within(faking.closed, 5000, 'the faking peer cut off')).toMatchObject({ code: 1006 });
      expect(answering.socket.readyState).toBe(WebSocket.OPEN);
    } finally {
      clearInterval(unasked);
      answering.socket.close();
    }
  });
});
