import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createRedisTransport } from '../../src/events/redis-transport';
import type { EventTransport } from '../../src/events/transport';
import { assertRedisAnswers, describeWith, redisRequirement } from '../helpers/required-services';
import { eventually, within } from '../../test-support/subscriptions';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/** How long the proxy holds back Redis's first answers on each connection: the subscriber's handshake lasts that long. */
const HANDSHAKE_MS = 800;

/**
 * The transport's subscriber reaches the real Redis through a proxy that holds
 * back the first answers on each connection, so the subscriber sits in its
 * connection handshake (connected, not yet ready) for a known while, and the
 * test subscribes inside it: at start-up, and again after Redis comes back.
 */
describeWith([redisRequirement()], 'the Redis transport, subscribing during the connection handshake', () => {
  let redisUrl: URL;
  const prefix = `wst-${randomBytes(4).toString('hex')}:`;
  let proxy: TcpProxy;
  let commands: Redis;
  let inspector: Redis;
  let transport: EventTransport | undefined;

  beforeAll(async () => {
    redisUrl = new URL(process.env.REDIS_URL!);
    await assertRedisAnswers(redisUrl.toString());
    proxy = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379), { holdRepliesMs: HANDSHAKE_MS });
    commands = new Redis(redisUrl.toString());
    inspector = new Redis(redisUrl.toString());
  });
  afterEach(async () => {
    await transport?.close();
    transport = undefined;
  });
  afterAll(async () => {
    commands?.disconnect();
    inspector?.disconnect();
    await proxy?.close();
  });

  /** A transport whose subscriber is connected and in its handshake when this resolves. */
  const transportInHandshake = async () => {
    const connecting = proxy.nextConnections();
    const created = createRedisTransport({ url: proxy.url(redisUrl), commands, channelPrefix: prefix, logger: pino({ level: 'silent' }) });
    transport = created;
    await connecting;
    // The client side of the connection is up within this; the answers stay held for HANDSHAKE_MS.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(created.health()).toBe('down');
    return created;
  };
  /** Each of `events`, as it arrives. */
  const listen = (events: AsyncIterableIterator<unknown>) => {
    const heard: unknown[] = [];
    void (async () => {
      for await (const event of events) heard.push(event);
    })();
    return { heard, stop: () => events.return!() };
  };
  const subscribers = async (topic: string) => ((await inspector.pubsub('NUMSUB', prefix + topic)) as [string, number])[1];

  it('when a topic is subscribed during the handshake, then once the transport has settled it hears what is published', async () => {
    const inHandshake = await transportInHandshake();
    const revocations = listen(inHandshake.pubSub.subscribe('TOKENS_REVOKED'));
    await within(inHandshake.settled(), 5000, 'settled');
    expect(inHandshake.health()).toBe('up');

    expect(await subscribers('TOKENS_REVOKED')).toBe(1);
    await commands.publish(`${prefix}TOKENS_REVOKED`, JSON.stringify({ accountId: 7, deviceId: 'phone' }));
    await eventually(() => revocations.heard.length > 0, 2000, 'the event heard');
    expect(revocations.heard).toEqual([{ accountId: 7, deviceId: 'phone' }]);
    await revocations.stop();
  });

  it('when a topic is subscribed and dropped during the handshake, then once settled Redis has no subscriber for it', async () => {
    const inHandshake = await transportInHandshake();
    const dropped = listen(inHandshake.pubSub.subscribe('TOKENS_REVOKED'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await dropped.stop();
    await within(inHandshake.settled(), 5000, 'settled');
    expect(await subscribers('TOKENS_REVOKED')).toBe(0);
  });

  it('when Redis comes back and a topic is subscribed during the new handshake, then it hears what is published, as do the topics from before', async () => {
    const transportUp = await transportInHandshake();
    await within(transportUp.settled(), 5000, 'settled');
    // A per-account topic, subscribed before the outage (the walletUpdated streams subscribe such topics).
    const before = listen(transportUp.pubSub.subscribe('WALLET_UPDATED', '41'));
    await within(transportUp.settled(), 5000, 'settled');

    await proxy.cut();
    await eventually(() => transportUp.health() === 'down', 5000, 'the transport down');
    const reconnecting = proxy.nextConnections();
    await proxy.restore();
    await within(reconnecting, 10_000, 'the subscriber reconnecting');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(transportUp.health()).toBe('down');
    const revocations = listen(transportUp.pubSub.subscribe('TOKENS_REVOKED'));
    await eventually(() => transportUp.health() === 'up', 5000, 'the transport up again');
    await within(transportUp.settled(), 5000, 'settled');

    expect(await subscribers('TOKENS_REVOKED')).toBe(1);
    expect(await subscribers('WALLET_UPDATED:41')).toBe(1);
    await commands.publish(`${prefix}TOKENS_REVOKED`, JSON.stringify({ accountId: 7, deviceId: null }));
    await commands.publish(`${prefix}WALLET_UPDATED:41`, JSON.stringify({ sequence: 3 }));
    await eventually(() => revocations.heard.length > 0 && before.heard.length > 0, 2000, 'both events heard');
    expect(revocations.heard).toEqual([{ accountId: 7, deviceId: null }]);
    expect(before.heard).toEqual([{ sequence: 3 }]);
    await revocations.stop();
    await before.stop();
  });
});
