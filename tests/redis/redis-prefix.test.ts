import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { errorCode, postGraphQL } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { login, register, registerAndLogin, uniqueEmail, upload } from '../../test-support/operations';
import { LogoutDocument, SeedDocument } from '../../test-support/operations.generated';
import { assertRedisAnswers, describeWith, redisRequirement } from '../helpers/required-services';
import { eventually, subscribedAtSequence1, within, type LiveClient } from '../../test-support/subscriptions';

/**
 * Deployments sharing one Redis keep apart by REDIS_CHANNEL_PREFIX: every key
 * and channel a server touches starts with it, so two prefixes share neither
 * live events nor rate-limit budgets and lock-outs.
 */
describeWith([redisRequirement()], 'REDIS_CHANNEL_PREFIX on a shared Redis', () => {
  const redisUrl = process.env.REDIS_URL!;
  const ENV = { REDIS_URL: redisUrl, RATE_LIMITS: 'on', TRUST_PROXY: 'on', ACCOUNT_VERIFICATION_MODE: 'AllowAll', RATE_LIMIT_CLIENT_SALT_SEED_PER_IP: '3/60' };
  const servers: TestServer[] = [];
  const clients: LiveClient[] = [];
  const prefixes: string[] = [];

  const newPrefix = () => {
    const prefix = `wst-${randomBytes(5).toString('hex')}:`;
    prefixes.push(prefix);
    return prefix;
  };
  const serverWith = async (prefix: string) => {
    const server = await startTestServer({ ...ENV, REDIS_CHANNEL_PREFIX: prefix });
    servers.push(server);
    return server;
  };

  beforeAll(() => assertRedisAnswers(redisUrl));
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    const redis = new Redis(redisUrl);
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  });

  const seedFrom = async (server: TestServer, ip: string) =>
    errorCode(await postGraphQL(server.url, SeedDocument, { email: uniqueEmail() }, undefined, { 'x-forwarded-for': ip }));

  it.each<[string, string, boolean]>([
    ['different prefixes', 'allowed', false],
    ['the same prefix (the control)', 'RATE_LIMITED', true],
  ])('when two instances use %s and one client spends its budget on one, then on the other it is %s', async (_case, expected, same) => {
    const a = await serverWith(newPrefix());
    const b = await serverWith(same ? prefixes[prefixes.length - 1] : newPrefix());
    const ip = '2001:db8:42:1::1';
    for (let i = 0; i < 3; i += 1) expect(await seedFrom(a, ip)).toBeUndefined();
    expect(await seedFrom(a, ip)).toBe('RATE_LIMITED');
    expect((await seedFrom(b, '2001:db8:42:1::2')) ?? 'allowed').toBe(expected);
  });

  /**
   * Each server has a database of its own, so the first account on each has the
   * same id: with a shared prefix, an update of one is heard as the other's.
   * The subscriber on B holds sequence 1; A's account moves to 4, then B's to 2.
   * Heard apart, the subscriber's next event is its own 2; heard together, it is
   * A's 4 (and its own 2, being older, is dropped).
   */
  it.each<[string, number, boolean]>([
    ['different prefixes', 2, false],
    ['the same prefix (the control)', 4, true],
  ])('when two instances use %s and each updates its first account, then the subscriber on one next hears sequence %s', async (_case, expected, same) => {
    const a = await serverWith(newPrefix());
    const b = await serverWith(same ? prefixes[prefixes.length - 1] : newPrefix());
    const onA = await registerAndLogin(a);
    for (const sequence of [1, 2, 3]) await upload(a, onA, sequence);
    const { email, password } = await register(b);
    const onB = await login(b, email, password, 'phone');
    await upload(b, onB, 1);
    const { subscription } = await subscribedAtSequence1(b.url, onB.token, clients);

    await upload(a, onA, 4);
    await upload(b, onB, 2);
    expect(await subscription.next()).toBe(expected);
  });

  it('when a server has rate-limited, published, subscribed and revoked, then it has held two Redis connections: its commands and its subscriber', async () => {
    const prefix = newPrefix();
    const server = await serverWith(prefix);
    const device = await registerAndLogin(server);
    await upload(server, device, 1);
    const { client } = await subscribedAtSequence1(server.url, device.token, clients);
    const codes: Array<string | undefined> = [];
    for (let i = 0; i < 4; i += 1) codes.push(await seedFrom(server, '192.0.2.78'));
    expect(codes).toEqual([undefined, undefined, undefined, 'RATE_LIMITED']);
    // The rate limits fall back to memory while Redis is not ready, so the codes above do not show it is: wait until it is,
    // or a revocation published before then is lost (as documented) and only the periodic recheck, 60 s away, closes the socket.
    await eventually(() => server.app.transport.health() === 'up', 10_000, "the server's Redis connections ready");
    expect((await server.gql(LogoutDocument, {}, device.token)).body.data!.logout).toBe(true);
    // The revocation went out through Redis and came back to this server's subscriber: well before the periodic recheck
    // (WS_TOKEN_RECHECK_SECONDS, 60 s), with room for a loaded machine.
    expect(await within(client.closed, 15_000, 'the revoked socket closes')).toEqual({ code: 4401, reason: 'Token revoked' });

    const inspector = new Redis(redisUrl);
    try {
      const clientList = (await inspector.client('LIST')) as string;
      const names = clientList
        .split('\n')
        .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '')
        .filter((name) => name.startsWith(prefix));
      expect(names.sort()).toEqual([`${prefix}commands`, `${prefix}subscribe`]);
    } finally {
      inspector.disconnect();
    }
  });

  it('when a server registers, logs in, rate-limits, publishes, subscribes and revokes, then every Redis key and channel it touched starts with its prefix', async () => {
    const prefix = newPrefix();
    const monitoring = new Redis(redisUrl);
    const monitor = await monitoring.monitor();
    const commands: Array<{ source: string; args: string[] }> = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => commands.push({ source, args }));
    try {
      const server = await serverWith(prefix);
      const device = await registerAndLogin(server);
      await upload(server, device, 1);
      await subscribedAtSequence1(server.url, device.token, clients);
      for (let i = 0; i < 4; i += 1) await seedFrom(server, '192.0.2.77');
      await server.gql(LogoutDocument, {}, device.token);
      await Promise.all(clients.splice(0).map((c) => c.dispose()));
      await server.close();
      servers.splice(servers.indexOf(server), 1);
    } finally {
      // MONITOR reports commands as Redis runs them; a PING on the monitored connection's Redis is a barrier.
      const probe = new Redis(redisUrl);
      await probe.ping();
      await new Promise((resolve) => setTimeout(resolve, 200));
      probe.disconnect();
      monitor.disconnect();
      monitoring.disconnect();
    }

    // The server's connections name themselves after the prefix as their first command.
    const ours = new Set(commands.filter((c) => c.args[0] === 'client' && c.args[1] === 'setname' && c.args[2]?.startsWith(prefix)).map((c) => c.source));
    expect(ours.size).toBeGreaterThanOrEqual(2);
    const touched = new Set<string>();
    const keyless = new Set(['ping', 'info', 'client', 'select', 'quit', 'hello', 'auth', 'script', 'multi', 'exec', 'discard']);
    const inspector = new Redis(redisUrl);
    try {
      for (const { source, args } of commands.filter((c) => ours.has(c.source))) {
        const [name, ...rest] = args;
        const command = name.toLowerCase();
        if (['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe'].includes(command)) rest.forEach((c) => touched.add(c));
        else if (command === 'publish' || command === 'spublish') touched.add(rest[0]);
        else if (keyless.has(command)) continue;
        else {
          const keys = (await inspector.call('command', 'getkeys', name, ...rest).catch((error: Error) => {
            throw new Error(`cannot tell the keys of "${args.join(' ')}" from ${source}: ${error.message}`);
          })) as string[];
          keys.forEach((k) => touched.add(k));
        }
      }
    } finally {
      inspector.disconnect();
    }
    // Keys of rate limits, and channels of wallet events and revocations, were all touched...
    expect([...touched].some((k) => k.includes('rate-limit:clientSaltSeedPerIp'))).toBe(true);
    expect([...touched].some((k) => k.includes('WALLET_UPDATED'))).toBe(true);
    expect([...touched].some((k) => k.includes('TOKENS_REVOKED'))).toBe(true);
    // ...and none outside the prefix.
    expect([...touched].filter((k) => !k.startsWith(prefix))).toEqual([]);
  });
});
