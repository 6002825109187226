import { createPubSub } from '@graphql-yoga/subscription';
import WebSocket from 'ws';
import type { EventTopics } from '../../src/events/topics';
import { inProcessTransport } from '../../src/events/transport';
import { SubscriptionCloseCode } from '../../src/http/socket-binding';
import { DAY_MS, type Clock } from '../../src/lib/clock';
import { startTestServer, type TestServer } from '../helpers/app';
import { PASSWORD, login, newSeed, register, upload, type Device } from '../../test-support/operations';
import { ChangePasswordDocument, DeleteAccountDocument, LogoutDocument, RevokeDocument } from '../../test-support/operations.generated';
import { connectLive, eventually, subscribedAtSequence1, within, wsUrl, type LiveClient } from '../../test-support/subscriptions';

/** The in-process pub/sub's own EventTarget, recording what it carries: a subscription in effect is one listener added. */
class ObservedEventTarget extends EventTarget {
  added = 0;
  published: Array<{ type: string; detail: unknown }> = [];
  override addEventListener(...args: Parameters<EventTarget['addEventListener']>): void {
    this.added += 1;
    super.addEventListener(...args);
  }
  removed = 0;
  override removeEventListener(...args: Parameters<EventTarget['removeEventListener']>): void {
    this.removed += 1;
    super.removeEventListener(...args);
  }
  override dispatchEvent(event: Event): boolean {
    this.published.push({ type: event.type, detail: (event as CustomEvent).detail });
    return super.dispatchEvent(event);
  }
}

/**
 * walletUpdated over real WebSockets (graphql-ws) against a server on a random
 * port, with the in-process pub/sub. The same behaviour across instances over
 * Redis is in tests/redis/subscriptions-redis.test.ts and tests/processes/two-instances.test.ts.
 */
describe('walletUpdated over graphql-ws', () => {
  let server: TestServer;
  const clients: LiveClient[] = [];
  const live = (device: Device | null) => {
    const client = connectLive(server.url, device ? device.token : null);
    clients.push(client);
    return client;
  };

  const events = new ObservedEventTarget();

  beforeAll(async () => {
    server = await startTestServer({}, { transport: inProcessTransport(createPubSub<EventTopics>({ eventTarget: events as never })) });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => server.close());

  async function account(devices = ['phone', 'laptop']): Promise<Device[]> {
    const { email, password } = await register(server);
    const result: Device[] = [];
    for (const deviceId of devices) result.push(await login(server, email, password, deviceId));
    return result;
  }

  const subscribed = (device: Device) => subscribedAtSequence1(server.url, device.token, clients);

  it('when a device of the account uploads, then every subscription of the account receives its sequence exactly once', async () => {
    const [phone, laptop] = await account();
    await upload(server, phone, 1);
    const onPhone = await subscribed(phone);
    const onLaptop = await subscribed(laptop);
    const second = onLaptop.client.subscribe(0);
    expect(await second.next()).toBe(1);

    await upload(server, laptop, 2);
    await upload(server, phone, 3);
    for (const subscription of [onPhone.subscription, onLaptop.subscription, second]) {
      expect(await subscription.next()).toBe(2);
      expect(await subscription.next()).toBe(3);
    }
    expect(onPhone.subscription.received).toEqual([1, 2, 3]);
  });

  it('when subscribers select walletState, then each event carries the state itself (the catch-up too), and a device needs no read', async () => {
    const [phone, laptop, tablet] = await account(['phone', 'laptop', 'tablet']);
    await upload(server, phone, 1);
    const query = 'subscription W($since: Int) { walletUpdated(sinceSequence: $since) { sequence walletState { sequence encryptedWallet hmac updatedAt } } }';
    type WalletUpdatedData = { walletUpdated: { sequence: number; walletState: Record<string, unknown> | null } };
    const onPhone = live(phone).client.iterate<WalletUpdatedData>({ query, variables: { since: 0 } });
    const onLaptop = live(laptop).client.iterate<WalletUpdatedData>({ query, variables: { since: 0 } });
    const event = (sequence: number) => ({
      data: { walletUpdated: { sequence, walletState: { sequence, encryptedWallet: `wallet-${sequence}`, hmac: `hmac-${sequence}`, updatedAt: expect.any(String) } } },
    });

    // The catch-up: both subscriptions are in effect once it arrived.
    expect((await onPhone.next()).value).toEqual(event(1));
    expect((await onLaptop.next()).value).toEqual(event(1));
    const written = await upload(server, tablet, 2);
    const atPhone = (await onPhone.next()).value;
    expect(atPhone).toEqual(event(2));
    expect((await onLaptop.next()).value).toEqual(atPhone);
    expect(atPhone!.data!.walletUpdated.walletState!.updatedAt).toBe((written as { walletState: { updatedAt: string } }).walletState.updatedAt);
    await Promise.all([onPhone.return!(), onLaptop.return!()]);
  });

  it("when another account uploads, then nothing reaches this account's subscriptions", async () => {
    const [mine] = await account(['phone']);
    const [theirs] = await account(['phone']);
    await upload(server, mine, 1);
    await upload(server, theirs, 1);
    const mineLive = await subscribed(mine);
    const theirsLive = await subscribed(theirs);

    await upload(server, theirs, 2);
    expect(await theirsLive.subscription.next()).toBe(2);
    // Events of one pub/sub arrive in order: had theirs reached mine, it would come before mine.
    await upload(server, mine, 2);
    expect(await mineLive.subscription.next()).toBe(2);
    expect(mineLive.subscription.received).toEqual([1, 2]);
  });

  it('when an upload conflicts, then no event is emitted', async () => {
    const [phone, laptop] = await account();
    await upload(server, phone, 1);
    const { subscription } = await subscribed(laptop);

    expect((await upload(server, phone, 1, 'stale')).__typename).toBe('WalletStateConflict');
    expect((await upload(server, phone, 5, 'ahead')).__typename).toBe('WalletStateConflict');
    // The retry of the current state answers success but is not a new version either.
    expect((await upload(server, phone, 1)).__typename).toBe('WalletStateSuccess');
    await upload(server, phone, 2);
    expect(await subscription.next()).toBe(2);
    expect(subscription.received).toEqual([1, 2]);
  });

  it.each([
    ['behind the server', 1, [3, 4]],
    ['at the current sequence', 3, [4]],
    ['with no wallet yet (0)', 0, [3, 4]],
    ['without sinceSequence', null, [4]],
  ])('when a device subscribes %s, then the catch-up and the live events follow without a gap', async (_case, since, expected) => {
    const [phone, laptop] = await account();
    for (const sequence of [1, 2, 3]) await upload(server, phone, sequence);
    const listenersBefore = events.added;
    const client = live(laptop);
    const subscription = client.subscribe(since);
    // Without a catch-up event the client has no sign that the subscription is in effect: watch the pub/sub instead.
    await eventually(() => events.added > listenersBefore);
    if (since !== null && since < 3) expect(await subscription.next()).toBe(3);
    await upload(server, phone, 4);
    expect(await subscription.next()).toBe(4);
    expect(subscription.received).toEqual(expected);
  });

  it('when changePassword swaps the wallet, then exactly one event carries the new sequence and the subscribers are closed', async () => {
    const [phone] = await account(['phone']);
    await upload(server, phone, 1);
    const { client } = await subscribed(phone);
    const publishedBefore = events.published.length;
    const response = await server.gql(ChangePasswordDocument, {
      input: { email: phone.email, oldPassword: PASSWORD, newPassword: 'a brand new password', clientSaltSeed: newSeed(), wallet: { encryptedWallet: 're-encrypted', sequence: 2, hmac: 'h2' } },
    });
    expect(response.body.data!.changePassword.__typename).toBe('ChangePasswordSuccess');
    // Whether the closing socket still gets to send it is a race with the revocation; that it was published is not.
    expect(events.published.slice(publishedBefore).filter((e) => e.type.startsWith('WALLET_UPDATED:'))).toEqual([
      { type: expect.stringMatching(/^WALLET_UPDATED:\d+$/), detail: { sequence: 2 } },
    ]);
    expect(await within(client.closed, 5000, 'close')).toEqual({ code: SubscriptionCloseCode.Unauthorized, reason: 'Token revoked' });
  });

  it('when an idle subscriber goes away, then its pub/sub listener and connection are released at once', async () => {
    const [phone] = await account(['phone']);
    const before = { added: events.added, removed: events.removed };
    const client = connectLive(server.url, phone.token);
    client.subscribe(null);
    await eventually(() => events.added > before.added);
    expect(server.app.http.subscriptions.connectionCount()).toBeGreaterThan(0);
    await client.dispose();
    await eventually(() => events.removed > before.removed && server.app.http.subscriptions.connectionCount() === 0);
  });

  describe('refusal at connection_init', () => {
    it.each([
      ['no authorization', null, {}],
      ['an unknown token', 'not-a-token-this-server-issued', {}],
      ['an authorization that is not a bearer token', null, { authorization: 'Basic dXNlcjpwYXNz' }],
    ])('when a client connects with %s, then the socket is closed with 4401 Unauthorized', async (_case, token, params) => {
      const client = connectLive(server.url, token, params);
      clients.push(client);
      expect(await within(client.closed, 5000, 'close')).toEqual({ code: 4401, reason: 'Unauthorized' });
    });

    it('when the token is only in the URL, then it is not read from there and the socket is refused', async () => {
      const [phone] = await account(['phone']);
      const socket = new WebSocket(`${wsUrl(server.url)}?authorization=${encodeURIComponent(`Bearer ${phone.token}`)}`, 'graphql-transport-ws');
      await new Promise((resolve) => socket.once('open', resolve));
      socket.send(JSON.stringify({ type: 'connection_init' }));
      const [code] = await new Promise<[number, Buffer]>((resolve) => socket.once('close', (...args) => resolve(args)));
      expect(code).toBe(4401);
    });

    it('when an upgrade asks for another path, then it is answered 404', async () => {
      const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/elsewhere`, 'graphql-transport-ws');
      const status = await new Promise<number | undefined>((resolve) => {
        socket.once('unexpected-response', (_req, res) => resolve(res.statusCode));
        socket.once('error', () => resolve(undefined));
      });
      expect(status).toBe(404);
    });
  });

  it('when an operation that takes no token is sent over the socket, then it is refused with BAD_REQUEST and nothing runs', async () => {
    const [phone] = await account(['phone']);
    const client = live(phone);
    const query = `mutation { login(input: { email: "${phone.email}", password: "${PASSWORD}", deviceId: "tablet" }) { token } }`;
    const result = await new Promise<unknown>((resolve) => {
      client.client.subscribe({ query }, { next: resolve, error: resolve, complete: () => {} });
    });
    expect(result).toMatchObject({ errors: [{ message: 'login takes no token: send it over HTTP', extensions: { code: 'BAD_REQUEST' } }] });
    const devices = (await server.gql('{ me { devices { deviceId } } }', {}, phone.token)).body.data!.me.devices;
    expect(devices.map((device: { deviceId: string }) => device.deviceId)).toEqual(['phone']);
  });

  describe('revocation closes live connections', () => {
    type Revoke = (phone: Device, laptop: Device) => Promise<unknown>;
    const cases: Array<[string, Revoke, { phone: boolean; laptop: boolean }]> = [
      ['the phone logs out', (phone) => server.gql(LogoutDocument, {}, phone.token), { phone: true, laptop: false }],
      ['the laptop revokes the phone', (phone, laptop) => server.gql(RevokeDocument, { deviceId: phone.deviceId }, laptop.token), { phone: true, laptop: false }],
      ['the phone logs in again (its old token is replaced)', (phone) => login(server, phone.email, phone.password, phone.deviceId), { phone: true, laptop: false }],
      [
        'the password changes',
        (phone) =>
          server.gql(ChangePasswordDocument, {
            input: { email: phone.email, oldPassword: PASSWORD, newPassword: 'another password entirely', clientSaltSeed: newSeed(), wallet: { encryptedWallet: 'w', sequence: 2, hmac: 'h' } },
          }),
        { phone: true, laptop: true },
      ],
      ['the account is deleted', (phone) => server.gql(DeleteAccountDocument, { password: PASSWORD }, phone.token), { phone: true, laptop: true }],
    ];

    it.each(cases)('when %s, then exactly the affected connections close with 4401', async (_case, revoke, closes) => {
      const [phone, laptop] = await account();
      await upload(server, phone, 1);
      const onPhone = await subscribed(phone);
      const onLaptop = await subscribed(laptop);

      await revoke(phone, laptop);
      for (const [device, connection] of [['phone', onPhone], ['laptop', onLaptop]] as const) {
        if (closes[device]) {
          expect(await within(connection.client.closed, 5000, `${device} close`)).toEqual({ code: 4401, reason: 'Token revoked' });
          await expect(connection.subscription.ended).resolves.toMatchObject({ code: 4401 });
        }
      }
      if (!closes.laptop) {
        // Still live: it hears the next update.
        await upload(server, laptop, 2);
        expect(await onLaptop.subscription.next()).toBe(2);
      }
    });

    it('when a device logs in again and connects with its new token, then the revocation of the old one leaves the new connection open', async () => {
      const [phone] = await account(['phone']);
      await upload(server, phone, 1);
      const old = await subscribed(phone);
      const renewed = await login(server, phone.email, phone.password, phone.deviceId);
      const fresh = await subscribed(renewed);
      expect((await within(old.client.closed, 5000, 'old close')).code).toBe(4401);
      await upload(server, renewed, 2);
      expect(await fresh.subscription.next()).toBe(2);
    });
  });

  it('when the server shuts down, then live connections are closed with 1001 Going Away', async () => {
    const own = await startTestServer();
    const { email, password } = await register(own);
    const phone = await login(own, email, password, 'phone');
    const client = connectLive(own.url, phone.token);
    clients.push(client);
    await client.connected;
    await own.close();
    expect((await within(client.closed, 5000, 'close')).code).toBe(SubscriptionCloseCode.GoingAway);
  });
});

describe('token expiry on a live connection', () => {
  /** The real time shifted by `offsetMs`: the timers run in real time, the clock decides what has expired. */
  const clock: Clock & { offsetMs: number } = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };
  let server: TestServer;

  beforeAll(async () => {
    // The cap equals the TTL: connecting (a use of the token) cannot slide its expiry past the login + 1 day.
    server = await startTestServer({ TOKEN_TTL_DAYS: '1', TOKEN_MAX_AGE_DAYS: '1' }, { clock });
  });
  afterAll(() => server.close());

  it('when the token expires, then its connection is closed with 4401 and a new connection with it is refused', async () => {
    const { email, password } = await register(server);
    const phone = await login(server, email, password, 'phone');
    // The token was issued for one day: move to 600 ms before its end.
    clock.offsetMs = DAY_MS - 600;
    const client = connectLive(server.url, phone.token);
    await client.connected;
    const started = Date.now();
    expect(await within(client.closed, 5000, 'close')).toEqual({ code: 4401, reason: 'Token expired' });
    expect(Date.now() - started).toBeLessThan(2000);

    const again = connectLive(server.url, phone.token);
    expect((await within(again.closed, 5000, 'close')).code).toBe(4401);
  });
});

describe('keep-alive', () => {
  let server: TestServer;
  let device: Device;

  beforeAll(async () => {
    server = await startTestServer({ WS_KEEPALIVE_MS: '100' });
    const { email, password } = await register(server);
    device = await login(server, email, password, 'phone');
  });
  afterAll(() => server.close());

  async function open(autoPong: boolean) {
    const socket = new WebSocket(wsUrl(server.url), 'graphql-transport-ws', { autoPong });
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${device.token}` } }));
    await new Promise((resolve) => socket.once('message', resolve));
    let pings = 0;
    socket.on('ping', () => (pings += 1));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    return { socket, closed, pings: () => pings };
  }

  it('when a peer stops answering pings, then the server cuts it off; a peer that answers stays', async () => {
    const dead = await open(false);
    const alive = await open(true);
    // 1006: terminated without a close frame.
    expect(await within(dead.closed, 3000, 'dead peer cut off')).toBe(1006);
    // By now the live peer has answered several pings and is still open.
    await eventually(() => alive.pings() >= 3);
    expect(alive.socket.readyState).toBe(WebSocket.OPEN);
    alive.socket.close();
  });
});


