import WebSocket from 'ws';
import { operationText, postGraphQL } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { login, registerAndLogin, type Device } from '../../test-support/operations';
import { DeleteAccountDocument, RevokeDocument } from '../../test-support/operations.generated';
import { within, wsUrl } from '../../test-support/subscriptions';

/**
 * Queries and mutations over an authenticated graphql-ws connection (PROTOCOL.md,
 * "Operations over the live connection"), black-box on a real server: bad input
 * gets the errors HTTP gives, never a 500 nor a half-open socket; a flood meets
 * the message budget; a revoked session closes the socket.
 */

const WALLET_STATE = '{ walletState { sequence encryptedWallet hmac updatedAt } }';
const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: walletState { sequence }`).join(' ')} }`;

interface Answer {
  /** The operation's result (next), or its errors (an error frame) as { errors }. */
  payload: { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

/** A raw graphql-transport-ws connection: sends operations and collects their answers by id. */
class RawSocket {
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly waiting = new Map<string, { next?: Answer['payload']; resolve: (answer: Answer) => void }>();
  private nextId = 0;

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      const waiting = this.waiting.get(message.id);
      if (!waiting) return;
      if (message.type === 'next') waiting.next = message.payload;
      if (message.type === 'error') waiting.resolve({ payload: { errors: message.payload } });
      if (message.type === 'complete') waiting.resolve({ payload: waiting.next ?? {} });
    });
  }

  static async open(url: string, token: string | null): Promise<RawSocket> {
    const socket = new WebSocket(wsUrl(url), 'graphql-transport-ws');
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const raw = new RawSocket(socket);
    const acked = new Promise<boolean>((resolve) => {
      socket.once('message', (data) => resolve(JSON.parse(data.toString()).type === 'connection_ack'));
      socket.once('close', () => resolve(false));
    });
    socket.send(JSON.stringify({ type: 'connection_init', payload: token === null ? {} : { authorization: `Bearer ${token}` } }));
    await acked;
    return raw;
  }

  operation(query: string, variables?: Record<string, unknown>): Promise<Answer> {
    const id = String((this.nextId += 1));
    const answer = new Promise<Answer>((resolve) => this.waiting.set(id, { resolve }));
    this.socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    return answer;
  }

  close(): void {
    this.socket.terminate();
  }
}

const codes = (answer: Answer) => [...new Set((answer.payload.errors ?? []).map((error) => error.extensions?.code))];

describe('operations over the live connection', () => {
  let server: TestServer;
  let device: Device;
  const sockets: RawSocket[] = [];
  const open = async (token: string | null = device.token) => {
    const socket = await RawSocket.open(server.url, token);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    server = await startTestServer({ GRAPHQL_MAX_ALIASES: '3', GRAPHQL_MAX_DEPTH: '2', GRAPHQL_MAX_TOKENS: '600', MAX_WALLET_BYTES: '64' });
    device = await registerAndLogin(server);
    // Shallow: the helpers' documents use fragments, deeper than this server's GRAPHQL_MAX_DEPTH.
    await postGraphQL(server.url, 'mutation { updateWalletState(input: { encryptedWallet: "w1", sequence: 1, hmac: "h1" }) { __typename } }', undefined, device.token);
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(() => server.close());

  it('when a device reads and writes its wallet over its connection, then it gets what HTTP answers, as its own session', async () => {
    const socket = await open();
    expect((await socket.operation(WALLET_STATE)).payload).toEqual((await postGraphQL(server.url, WALLET_STATE, undefined, device.token)).body);
    const update = 'mutation U($input: WalletStateInput!) { updateWalletState(input: $input) { __typename } }';
    const written = await socket.operation(update, { input: { encryptedWallet: 'w2', sequence: 2, hmac: 'h2' } });
    expect(written.payload).toEqual({ data: { updateWalletState: { __typename: 'WalletStateSuccess' } } });
    expect((await postGraphQL(server.url, '{ walletState { sequence encryptedWallet } }', undefined, device.token)).body.data).toEqual({ walletState: { sequence: 2, encryptedWallet: 'w2' } });
  });

  it.each<[string, string, string, Record<string, unknown> | undefined]>([
    ['a document over GRAPHQL_MAX_TOKENS', 'GRAPHQL_PARSE_FAILED', `{ walletState { ${'__typename '.repeat(600)}sequence } }`, undefined],
    ['a syntax error', 'GRAPHQL_PARSE_FAILED', '{ walletState { sequence }', undefined],
    ['a document deeper than GRAPHQL_MAX_DEPTH (3 > 2)', 'GRAPHQL_VALIDATION_FAILED', '{ me { devices { deviceId } } }', undefined],
    ['aliases over GRAPHQL_MAX_ALIASES', 'GRAPHQL_VALIDATION_FAILED', aliased(4), undefined],
    ['an unknown field', 'GRAPHQL_VALIDATION_FAILED', '{ walletState { color } }', undefined],
    ['a mutation with the wrong input (sequence 0)', 'BAD_USER_INPUT', 'mutation U($input: WalletStateInput!) { updateWalletState(input: $input) { __typename } }', { input: { encryptedWallet: 'w', sequence: 0, hmac: 'h' } }],
    ['a variable of the wrong type', 'BAD_USER_INPUT', 'mutation U($input: WalletStateInput!) { updateWalletState(input: $input) { __typename } }', { input: { encryptedWallet: 'w', sequence: 'x', hmac: 'h' } }],
    ['a missing required variable', 'BAD_USER_INPUT', 'mutation U($input: WalletStateInput!) { updateWalletState(input: $input) { __typename } }', {}],
    ['a wallet over MAX_WALLET_BYTES', 'PAYLOAD_TOO_LARGE', 'mutation U($input: WalletStateInput!) { updateWalletState(input: $input) { __typename } }', { input: { encryptedWallet: 'x'.repeat(65), sequence: 9, hmac: 'h' } }],
    ['an operation that takes no token (login)', 'BAD_REQUEST', 'mutation { login(input: { email: "a@b.c", password: "12345678", deviceId: "d" }) { token } }', undefined],
    ['an operation that takes no token (clientSaltSeed)', 'BAD_REQUEST', '{ clientSaltSeed(email: "a@b.c") }', undefined],
    ['introspection', 'BAD_REQUEST', '{ __schema { queryType { name } } }', undefined],
  ])('when an operation over the socket carries %s, then it is answered %s, and the connection stays usable', async (_case, code, query, variables) => {
    const socket = await open();
    const answer = await within(socket.operation(query, variables), 5000, 'the answer');
    expect(codes(answer)).toEqual([code]);
    // The connection still answers.
    expect((await within(socket.operation('{ walletState { sequence } }'), 5000, 'a valid query')).payload.data).toEqual({ walletState: { sequence: expect.any(Number) } });
    if (code === 'BAD_REQUEST') return;
    // The same operation over HTTP: the same code.
    const http = await postGraphQL(server.url, query, variables, device.token);
    expect([...new Set(http.body.errors?.map((error) => error.extensions?.code))]).toEqual([code]);
  });

  it('when a connection has no token, then it is refused at connection_init with 4401 and runs nothing', async () => {
    const socket = await open(null);
    expect(await within(socket.closed, 5000, 'close')).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('when the device is revoked from another device, then its connection is closed with 4401', async () => {
    const phone = await registerAndLogin(server, 'phone');
    const laptop = await login(server, phone.email, phone.password, 'laptop');
    const socket = await open(phone.token);
    expect(codes(await socket.operation(WALLET_STATE))).toEqual([]);
    expect((await server.gql(RevokeDocument, { deviceId: 'phone' }, laptop.token)).body.data).toEqual({ revokeDevice: true });
    expect(await within(socket.closed, 5000, 'close')).toEqual({ code: 4401, reason: 'Token revoked' });
  });

  it('when a connection holds 8 subscriptions, then a 9th is refused with BAD_REQUEST while queries still run', async () => {
    const socket = await open();
    const subscriptions = Array.from({ length: 8 }, () => socket.operation('subscription { walletUpdated { sequence } }'));
    const ninth = await within(socket.operation('subscription { walletUpdated { sequence } }'), 5000, 'the refusal');
    expect(ninth.payload.errors?.[0]).toMatchObject({ message: 'At most 8 subscriptions per connection', extensions: { code: 'BAD_REQUEST' } });
    expect(codes(await socket.operation(WALLET_STATE))).toEqual([]);
    void subscriptions;
  });

  it('when operations are counted, then /metrics and the log label them with the websocket transport', async () => {
    const socket = await open();
    await socket.operation(WALLET_STATE);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^wallet_sync_graphql_requests_total\{operation="walletState",outcome="success",transport="websocket"\} [1-9]/m);
  });
});

describe('the per-IP budgets over the live connection', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_DELETE_ACCOUNT_PER_IP: '1/3600' });
  });
  afterAll(() => server.close());

  it('when deleteAccount is tried over the socket past its per-IP budget, then it is RATE_LIMITED as over HTTP', async () => {
    const device = await registerAndLogin(server);
    const socket = await RawSocket.open(server.url, device.token);
    try {
      const attempt = () => socket.operation(operationText(DeleteAccountDocument), { password: 'not the password' });
      expect(codes(await attempt())).toEqual(['UNAUTHENTICATED']);
      const limited = await attempt();
      expect(codes(limited)).toEqual(['RATE_LIMITED']);
      // The HTTP path shares the budget of the same address.
      expect((await server.gql(DeleteAccountDocument, { password: 'not the password' }, device.token)).body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    } finally {
      socket.close();
    }
  });
});

describe('the message budget of a connection', () => {
  it.each<[string, Record<string, string>, 'closed' | 'answered']>([
    ['on (the default budget of WS_MESSAGE_BUDGET)', { RATE_LIMITS: 'on' }, 'closed'],
    ['off', { RATE_LIMITS: 'off' }, 'answered'],
  ])('when a connection floods 700 operations with rate limits %s, then it is %s', async (_case, env, expected) => {
    const server = await startTestServer(env);
    try {
      const device = await registerAndLogin(server);
      const socket = await RawSocket.open(server.url, device.token);
      const answers = Array.from({ length: 700 }, () => socket.operation('{ walletState { sequence } }'));
      if (expected === 'closed') {
        expect(await within(socket.closed, 10_000, 'close')).toEqual({ code: 4429, reason: 'Too many messages' });
      } else {
        const all = await within(Promise.all(answers), 60_000, 'every answer');
        expect(all.every((answer) => answer.payload.data !== undefined && answer.payload.errors === undefined)).toBe(true);
        socket.close();
      }
    } finally {
      await server.close();
    }
  });
});
