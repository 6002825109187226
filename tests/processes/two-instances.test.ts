import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../test-support/database';
import { PASSWORD, login, newSeed, register, upload, type Device } from '../../test-support/operations';
import { AccountActivityDocument, ChangePasswordDocument, WalletHistoryDocument, LogoutDocument, WalletVersionDocument } from '../../test-support/operations.generated';
import { startServerProcess, type ServerProcess } from '../../test-support/server-process';
import { assertRedisAnswers, describeWith, databaseServerRequirement, redisRequirement } from '../helpers/required-services';
import { subscribedAtSequence1, within, type LiveClient } from '../../test-support/subscriptions';

/**
 * Two server processes sharing one database on a server and the real Redis, as
 * behind a load balancer: what happens through one reaches the live
 * connections held by the other.
 */
describeWith([databaseServerRequirement(), redisRequirement()], 'two server instances on a database server and Redis', () => {
  let database: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    await assertRedisAnswers(process.env.REDIS_URL!);
    database = await createTestDatabase();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: process.env.REDIS_URL!,
      REDIS_CHANNEL_PREFIX: `wst-${randomBytes(4).toString('hex')}:`,
      SERVER_SECRET: randomBytes(32).toString('hex'),
    };
    // One after the other: the first one migrates the fresh database. A loaded machine can take
    // well over the default 30 s to compile and start a server process, hence the longer wait.
    a = await startServerProcess(env, 75_000);
    b = await startServerProcess(env, 75_000);
  }, 160_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  async function accountOn(server: ServerProcess, devices: string[]): Promise<Device[]> {
    const { email, password } = await register(server);
    const result: Device[] = [];
    for (const deviceId of devices) result.push(await login(server, email, password, deviceId));
    return result;
  }
  const subscribedOn = (server: ServerProcess, device: Device) => subscribedAtSequence1(server.url, device.token, clients);

  it('when a device subscribed on A and another uploads through B, then A delivers the event', async () => {
    const [phone, laptop] = await accountOn(b, ['phone', 'laptop']);
    await upload(b, laptop, 1);
    const { subscription } = await subscribedOn(a, phone);
    await upload(b, laptop, 2);
    expect(await subscription.next()).toBe(2);
    await upload(a, laptop, 3);
    expect(await subscription.next()).toBe(3);
  });

  it('when a device logs out through B, then its connection on A is closed and the other device on A stays', async () => {
    const [phone, laptop] = await accountOn(a, ['phone', 'laptop']);
    await upload(a, phone, 1);
    const onPhone = await subscribedOn(a, phone);
    const onLaptop = await subscribedOn(a, laptop);
    expect((await b.gql(LogoutDocument, {}, phone.token)).body.data!.logout).toBe(true);
    expect(await within(onPhone.client.closed, 10_000, 'phone close')).toEqual({ code: 4401, reason: 'Token revoked' });
    await upload(b, laptop, 2);
    expect(await onLaptop.subscription.next()).toBe(2);
  });

  it('when the password changes through B, then every connection of the account on A is closed', async () => {
    const [phone, laptop] = await accountOn(a, ['phone', 'laptop']);
    await upload(a, phone, 1);
    const connections = [await subscribedOn(a, phone), await subscribedOn(a, laptop)];
    const response = await b.gql(ChangePasswordDocument, {
      input: { email: phone.email, oldPassword: PASSWORD, newPassword: 'the new password', clientSaltSeed: newSeed(), wallet: { encryptedWallet: 'w2', sequence: 2, hmac: 'h2' } },
    });
    expect(response.body.data!.changePassword.__typename).toBe('ChangePasswordSuccess');
    for (const { client } of connections) expect((await within(client.closed, 10_000, 'close')).code).toBe(4401);
  });

  it('when states and logins go through A, then B serves the same history, versions and security log', async () => {
    const [phone, laptop] = await accountOn(a, ['phone', 'laptop']);
    await upload(a, phone, 1, 'first');
    await upload(a, laptop, 2, 'second');
    const history = (await b.gql(WalletHistoryDocument, {}, laptop.token)).body.data!.walletHistory;
    expect(history.map((h) => [h.sequence, h.deviceId])).toEqual([
      [1, 'phone'],
      [2, 'laptop'],
    ]);
    expect((await b.gql(WalletVersionDocument, { sequence: 1 }, phone.token)).body.data!.walletVersion!.encryptedWallet).toBe('first');
    const events = (await b.gql(AccountActivityDocument, {}, phone.token)).body.data!.accountActivity;
    expect(events.map((e: { kind: string; deviceId: string | null; newDevice: boolean | null }) => [e.kind, e.deviceId, e.newDevice])).toEqual([
      ['WALLET_UPDATED', 'laptop', null],
      ['WALLET_UPDATED', 'phone', null],
      ['LOGIN', 'laptop', true],
      ['LOGIN', 'phone', true],
      ['REGISTERED', null, null],
    ]);
    // A device known through A is known to B as well.
    await login(b, phone.email, phone.password, 'phone');
    const after = (await b.gql(AccountActivityDocument, { limit: 1 }, laptop.token)).body.data!.accountActivity;
    expect(after).toEqual([expect.objectContaining({ kind: 'LOGIN', deviceId: 'phone', newDevice: false })]);
  });
});
