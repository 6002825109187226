import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryDeviceStateStore, WalletSyncClient, nodeScrypt, type KeyParams, type ScryptFunction, type ScryptParams } from 'wallet-sync-client';

import { useTestServer } from '../../../tests/helpers/hooks';
import { ROOT_PASSWORD, TEST_KEY_PARAMS, openDevice } from '../helpers/devices';
import { uniqueEmail } from '../../../test-support/operations';
import { ClientKeyParamsDocument } from '../../../test-support/operations.generated';

const NEW_ROOT_PASSWORD = 'a brand new root password';

/** Node's scrypt, remembering the parameters of every derivation: which cost a device really paid. */
function recordingScrypt(): { scrypt: ScryptFunction; calls: ScryptParams[] } {
  const calls: ScryptParams[] = [];
  return { calls, scrypt: (password, salt, params, length) => (calls.push(params), nodeScrypt(password, salt, params, length)) };
}

/**
 * PROTOCOL.md "Keys" from the client's side, against the real server: the
 * registering device chooses the key parameters and sends them, every other
 * device derives with what clientKeyParams answers (whatever it was opened
 * with), changePassword can change them, and parameters outside the bounds are
 * refused: the app's before anything is sent, the server's before anything is derived.
 */
describe('the client and per-account key parameters', () => {
  const server = useTestServer();

  const serverKeyParams = async (email: string): Promise<KeyParams & { algorithm: string }> => {
    const { algorithm, n, r, p } = (await server.gql(ClientKeyParamsDocument, { email })).body.data!.clientKeyParams;
    return { algorithm, n, r, p };
  };

  it('when a device registers without choosing, then it derives with and sends the protocol default N=2^17, r=8, p=1', async () => {
    const email = uniqueEmail('default');
    const { scrypt, calls } = recordingScrypt();
    const device = await WalletSyncClient.open({ url: server.url, deviceId: 'laptop', store: new MemoryDeviceStateStore(), scrypt });
    await device.register(email, ROOT_PASSWORD);
    expect(calls).toEqual([{ n: 2 ** 17, r: 8, p: 1 }]);
    expect(await serverKeyParams(email)).toEqual({ algorithm: 'scrypt', n: 2 ** 17, r: 8, p: 1 });
  });

  it('when a second device opened with other key parameters logs in, then it derives with the account\'s, logs in and reads the wallet', async () => {
    const email = uniqueEmail('params');
    const chosen = { n: 2 ** 15, r: 2, p: 1 };
    const laptop = await openDevice(server, 'laptop', { keyParams: chosen });
    await laptop.register(email, ROOT_PASSWORD);
    await laptop.login();
    await laptop.setPreference('animal', 'beaver');
    await laptop.sync();
    expect(await serverKeyParams(email)).toEqual({ algorithm: 'scrypt', ...chosen });

    const { scrypt, calls } = recordingScrypt();
    const phone = await openDevice(server, 'phone', { keyParams: { n: 2 ** 14, r: 1, p: 1 }, scrypt });
    await phone.login({ email: email.toUpperCase(), rootPassword: ROOT_PASSWORD });
    expect(calls).toEqual([chosen]);
    await phone.sync();
    expect(phone.preferences()).toEqual({ animal: 'beaver' });
  });

  it('when changePassword raises N, then the server holds the new parameters and another device logs in with them', async () => {
    const email = uniqueEmail('raise');
    const laptop = await openDevice(server, 'laptop');
    await laptop.register(email, ROOT_PASSWORD);
    await laptop.login();
    const phone = await openDevice(server, 'phone');
    await phone.login({ email, rootPassword: ROOT_PASSWORD });
    await laptop.setPreference('animal', 'cow');
    await laptop.sync();

    // Only N is given: r and p stay the account's (TEST_KEY_PARAMS' r=1, p=1).
    await laptop.changePassword(ROOT_PASSWORD, NEW_ROOT_PASSWORD, { keyParams: { n: 2 ** 15 } });
    const raised = { n: 2 ** 15, r: TEST_KEY_PARAMS.r, p: TEST_KEY_PARAMS.p };
    expect(await serverKeyParams(email)).toEqual({ algorithm: 'scrypt', ...raised });
    await expect(laptop.sync()).resolves.toMatchObject({ sequence: 2, pushed: false });

    await expect(phone.sync()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const { scrypt, calls } = recordingScrypt();
    const again = await openDevice(server, 'phone', { store: new MemoryDeviceStateStore(), scrypt });
    await again.login({ email, rootPassword: NEW_ROOT_PASSWORD });
    expect(calls).toEqual([raised]);
    await again.sync();
    expect(again.preferences()).toEqual({ animal: 'cow' });
    // The device that changed them derives with them too: its root password check (deleteAccount's) still holds.
    await expect(laptop.deleteAccount(NEW_ROOT_PASSWORD)).resolves.toBeUndefined();
  });

  it('when changePassword is given only new key parameters and the same root password, then it re-keys the account under the same password', async () => {
    const email = uniqueEmail('rekey');
    const laptop = await openDevice(server, 'laptop');
    await laptop.register(email, ROOT_PASSWORD);
    await laptop.login();
    await laptop.changePassword(ROOT_PASSWORD, ROOT_PASSWORD, { keyParams: { n: 2 ** 16, r: 2 } });
    expect(await serverKeyParams(email)).toMatchObject({ n: 2 ** 16, r: 2, p: 1 });
    const phone = await openDevice(server, 'phone');
    await expect(phone.login({ email, rootPassword: ROOT_PASSWORD })).resolves.toMatchObject({ deviceId: 'phone' });
  });

  // PROTOCOL.md "Keys": N a power of two from 2^14 to 2^20, r 1 to 16, p 1 to 4.
  const OUT_OF_BOUNDS: Array<[string, Partial<KeyParams>]> = [
    ['N below 2^14', { n: 2 ** 13 }],
    ['N above 2^20', { n: 2 ** 21 }],
    ['N not a power of two', { n: 20_000 }],
    ['r of 0', { r: 0 }],
    ['r of 17', { r: 17 }],
    ['p of 0', { p: 0 }],
    ['p of 5', { p: 5 }],
    ['N=2^16 with r=1 (RFC 7914: N < 2^(16·r))', { n: 2 ** 16, r: 1 }],
    ['N=2^20, r=16 (2 GiB of memory)', { n: 2 ** 20, r: 16 }],
    ['N=2^18, r=16, p=4 (above the work bound)', { n: 2 ** 18, r: 16, p: 4 }],
  ];

  it.each(OUT_OF_BOUNDS)('when an app opens a client with %s, then open() refuses with INVALID_ARGUMENT naming the bound', async (_what, keyParams) => {
    await expect(openDevice(server, 'laptop', { keyParams: { ...TEST_KEY_PARAMS, ...keyParams } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/scrypt [Nrp] must be|above the (1 GiB|work) bound/),
    });
  });

  it.each(OUT_OF_BOUNDS)('when changePassword is given %s, then it refuses with INVALID_ARGUMENT and the account is unchanged', async (_what, keyParams) => {
    const email = uniqueEmail('badchange');
    const laptop = await openDevice(server, 'laptop');
    await laptop.register(email, ROOT_PASSWORD);
    await laptop.login();
    const before = await (await server.gql(ClientKeyParamsDocument, { email })).body.data!.clientKeyParams;
    // Refused as the other unusable arguments are: thrown at the call, before anything is derived or sent.
    expect(() => laptop.changePassword(ROOT_PASSWORD, NEW_ROOT_PASSWORD, { keyParams })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect((await server.gql(ClientKeyParamsDocument, { email })).body.data!.clientKeyParams).toEqual(before);
    // Nothing was revoked: the device's token still works.
    await expect(laptop.sync()).resolves.toMatchObject({ sequence: 1 });
  });

  it('when a state file from before per-account parameters is opened, then its N is kept with r=8, p=1 (what that client derived with)', async () => {
    const store = new MemoryDeviceStateStore();
    const legacy = { format: 1, deviceId: 'old', account: { email: 'joe2@example.com', clientSaltSeed: 'ab'.repeat(32), scryptCost: 2 ** 20 }, keys: null, authToken: null, base: null, local: { preferences: {} } };
    await store.save(legacy as never);
    await WalletSyncClient.open({ url: server.url, store });
    expect((await store.load())?.account).toEqual({ email: 'joe2@example.com', clientSaltSeed: 'ab'.repeat(32), keyParams: { n: 2 ** 20, r: 8, p: 1 } });
  });

  describe('a server that hands out parameters outside the bounds', () => {
    let fake: Server;
    let url: string;
    let answer: Record<string, unknown>;
    const operations: string[] = [];

    beforeAll(async () => {
      // Stands in for a malicious or broken server: answers clientKeyParams with `answer` and records every operation.
      fake = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk) => (body += chunk));
        request.on('end', () => {
          operations.push(/(query|mutation)\s+(\w+)/.exec(JSON.parse(body).query)?.[2] ?? '?');
          response.setHeader('content-type', 'application/json');
          response.end(JSON.stringify({ data: { clientKeyParams: { clientSaltSeed: 'ab'.repeat(32), ...answer } } }));
        });
      });
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => fake.close(() => resolve())));

    it.each<[string, Record<string, unknown>]>([
      ['N=2^4, cheap to brute-force', { algorithm: 'scrypt', n: 2 ** 4, r: 8, p: 1 }],
      ['N=2^30, more memory than a device has', { algorithm: 'scrypt', n: 2 ** 30, r: 8, p: 1 }],
      ['r=64', { algorithm: 'scrypt', n: 2 ** 14, r: 64, p: 1 }],
      ['N=2^20, r=16, p=4, each within its bound but 2 GiB of memory', { algorithm: 'scrypt', n: 2 ** 20, r: 16, p: 4 }],
      ['N=2^19, r=16, p=4: 1 GiB, but four times the work of the largest documented parameters', { algorithm: 'scrypt', n: 2 ** 19, r: 16, p: 4 }],
      ['N=2^17 with r=1, which OpenSSL cannot derive', { algorithm: 'scrypt', n: 2 ** 17, r: 1, p: 1 }],
      ['another algorithm', { algorithm: 'argon2id', n: 2 ** 14, r: 8, p: 1 }],
    ])('when it offers %s, then login fails with KEY_PARAMS_UNSUPPORTED before deriving or sending a login', async (_what, offered) => {
      answer = offered;
      operations.length = 0;
      const { scrypt, calls } = recordingScrypt();
      const device = await WalletSyncClient.open({ url, deviceId: 'phone', store: new MemoryDeviceStateStore(), scrypt });
      await expect(device.login({ email: 'joe2@example.com', rootPassword: ROOT_PASSWORD })).rejects.toMatchObject({ code: 'KEY_PARAMS_UNSUPPORTED' });
      expect(calls).toEqual([]);
      expect(operations).toEqual(['ClientKeyParams']);
      expect(device.status()).toMatchObject({ email: null, loggedIn: false });
    });
  });
});
