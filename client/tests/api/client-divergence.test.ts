import { MemoryDeviceStateStore, sealWalletState, type WalletSyncClient } from 'wallet-sync-client';
import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { ROOT_PASSWORD, openDevice } from '../helpers/devices';
import { startGraphQLProxy, type GraphQLProxy } from '../helpers/graphql-proxy';
import { uniqueEmail } from '../../../test-support/operations';
import { UpdateWalletStateDocument, WalletVersionDocument } from '../../../test-support/operations.generated';

/**
 * PROTOCOL.md "The history chain", black-box: a proxy in front of the real
 * server shows one device (c2) what a lying or restored server would, while
 * c1 talks to the server directly. Whatever c2 is shown, it keeps its data,
 * reports what it found, and the two devices end on one state with every edit.
 */
describe('a device shown a server history that does not extend the one it saw', () => {
  let server: TestServer;
  let proxy: GraphQLProxy;

  beforeAll(async () => {
    server = await startTestServer();
    proxy = await startGraphQLProxy(server.url);
  });
  afterEach(() => {
    proxy.rule = null;
  });
  afterAll(async () => {
    await proxy.close();
    await server.close();
  });

  /** c1 straight to the server, c2 through the proxy; both synced at sequence 1 with animal=cow. */
  async function devices() {
    const email = uniqueEmail('joe2');
    const [c1Store, c2Store] = [new MemoryDeviceStateStore(), new MemoryDeviceStateStore()];
    const c1 = await openDevice(server, 'test_wallet_1', { store: c1Store });
    const c2 = await openDevice(server, 'test_wallet_2', { url: proxy.url, store: c2Store });
    await c1.register(email, ROOT_PASSWORD);
    await c1.login();
    await c2.login({ email, rootPassword: ROOT_PASSWORD });
    await c1.setPreference('animal', 'cow');
    await c1.sync();
    await c2.sync();
    return { c1, c2, c1Store, c2Store };
  }

  /** c1 makes `count` more states, one edit each. */
  async function advance(c1: WalletSyncClient, count: number, key = 'car') {
    for (let i = 0; i < count; i += 1) {
      await c1.setPreference(key, `c1#${i}`);
      await c1.sync();
    }
  }

  async function converge(c1: WalletSyncClient, c2: WalletSyncClient) {
    await c1.sync();
    await c2.sync();
    await c1.sync();
    expect(c2.preferences()).toEqual(c1.preferences());
    expect(c2.status().sequence).toBe(c1.status().sequence);
  }

  it('when the server extends what the device saw by several states, then the chain through their headers checks and nothing is reported', async () => {
    const { c1, c2 } = await devices();
    await advance(c1, 4);
    const histories: number[] = [];
    proxy.rule = ({ operationName, variables }) => {
      if (operationName === 'WalletHistory') histories.push(variables.sinceSequence);
      return undefined;
    };
    await expect(c2.sync()).resolves.toMatchObject({ sequence: 5, pulled: true, pushed: false, divergence: null });
    // One look at the headers between the state it had (1) and the new one (5).
    expect(histories).toEqual([1]);
  });

  it('when the server answers the headers a few at a time, then the device pages through them and the chain still checks', async () => {
    const { c1, c2 } = await devices();
    await advance(c1, 5);
    const pages: number[] = [];
    proxy.rule = ({ operationName, variables }) =>
      operationName === 'WalletHistory' ? (pages.push(variables.sinceSequence), { rewrite: (body) => ({ data: { walletHistory: body.data.walletHistory.slice(0, 1) } }) }) : undefined;
    await expect(c2.sync()).resolves.toMatchObject({ sequence: 6, divergence: null });
    expect(pages).toEqual([1, 2, 3, 4]);
  });

  it('when the server answers an older state than the device saw, then it reports a rollback, keeps its data and heals the server', async () => {
    const { c1, c2, c1Store } = await devices();
    await advance(c1, 1);
    const token = (await c1Store.load())!.authToken!.token;
    const old = (await server.gql(WalletVersionDocument, { sequence: 2 }, token)).body.data!.walletVersion!;
    await advance(c1, 2);
    await c2.sync();
    await c2.setPreference('colour', 'green');
    expect(c2.status().sequence).toBe(4);

    // The proxy plays a server restored to sequence 2 (which c2 saw on the way to 4); c2's upload onto it conflicts with the real server.
    let replayed = false;
    proxy.rule = ({ operationName }) => {
      if (operationName !== 'WalletState' || replayed) return undefined;
      replayed = true;
      return { answer: { data: { walletState: old } } };
    };
    const result = await c2.sync();
    expect(result.divergence).toEqual({ kind: 'rollback', reason: 'sequence-went-back', seen: { sequence: 4, hmac: expect.any(String) }, server: { sequence: 2, hmac: old.hmac } });
    expect(result).toMatchObject({ pushed: true, sequence: 5 });
    expect(c2.preferences()).toEqual({ animal: 'cow', car: 'c1#1', colour: 'green' });
    await converge(c1, c2);
  });

  it('when an upload the device thought landed never reached the server (another history), then it reports a fork and loses nothing', async () => {
    const { c1, c2 } = await devices();
    await c2.setPreference('colour', 'green');
    // The proxy swallows c2's upload and answers success: c2 now holds a state of a history the server never had.
    proxy.rule = ({ operationName, variables }) =>
      operationName === 'UpdateWalletState'
        ? { answer: { data: { updateWalletState: { __typename: 'WalletStateSuccess', walletState: { ...variables.input, updatedAt: new Date().toISOString() } } } } }
        : undefined;
    await expect(c2.sync()).resolves.toMatchObject({ pushed: true, sequence: 2 });
    proxy.rule = null;
    await advance(c1, 2);

    // The real sequence 3 does not descend from the sequence 2 c2 holds: the chain its document names differs.
    const result = await c2.sync();
    expect(result.divergence).toMatchObject({ kind: 'fork', reason: 'chain-mismatch', seen: { sequence: 2 }, server: { sequence: 3 } });
    expect(result).toMatchObject({ pushed: true, sequence: 4 });
    expect(c2.preferences()).toEqual({ animal: 'cow', car: 'c1#1', colour: 'green' });
    await converge(c1, c2);
  });

  it('when the server lies about a header between the state the device saw and the new one, then the chain mismatch is caught and reported as a fork', async () => {
    const { c1, c2, c2Store } = await devices();
    await advance(c1, 3);
    await c2.setPreference('colour', 'green');
    proxy.rule = ({ operationName }) =>
      operationName === 'WalletHistory'
        ? { rewrite: (body) => ({ data: { walletHistory: body.data.walletHistory.map((h: any, i: number) => (i === 0 ? { ...h, hmac: 'f'.repeat(64) } : h)) } }) }
        : undefined;
    const result = await c2.sync();
    expect(result.divergence).toMatchObject({ kind: 'fork', reason: 'chain-mismatch', seen: { sequence: 1 }, server: { sequence: 4 } });
    // The lie never entered the device's memory of what it saw.
    const seen = (await c2Store.load())!.seen!;
    expect(seen.map((mark) => mark.sequence)).not.toContain(2);
    expect(c2.preferences()).toEqual({ animal: 'cow', car: 'c1#2', colour: 'green' });
    proxy.rule = null;
    await converge(c1, c2);
  });

  it.each([
    ['leaves a header in the middle of the range out', (headers: unknown[]) => headers.filter((_, i) => i !== 1)],
    ['answers no headers at all (pruned)', () => []],
  ])('when the server %s, then the device reports history-incomplete, never trusting what it could not check', async (_what, cut) => {
    const { c1, c2 } = await devices();
    await advance(c1, 4);
    await c2.setPreference('colour', 'green');
    proxy.rule = ({ operationName }) => (operationName === 'WalletHistory' ? { rewrite: (body) => ({ data: { walletHistory: cut(body.data.walletHistory) } }) } : undefined);
    const result = await c2.sync();
    expect(result.divergence).toMatchObject({ kind: 'fork', reason: 'history-incomplete', seen: { sequence: 1 }, server: { sequence: 5 } });
    expect(c2.preferences()).toEqual({ animal: 'cow', car: 'c1#3', colour: 'green' });
    proxy.rule = null;
    await converge(c1, c2);
  });

  it('when pull meets a divergence, then it reports it and merges without uploading; push after it uploads the merge', async () => {
    const { c1, c2 } = await devices();
    await advance(c1, 2);
    await c2.setPreference('colour', 'green');
    proxy.rule = ({ operationName }) => (operationName === 'WalletHistory' ? { rewrite: () => ({ data: { walletHistory: [] } }) } : undefined);
    const pulled = await c2.pull();
    expect(pulled.divergence).toMatchObject({ kind: 'fork', reason: 'history-incomplete' });
    expect(c2.status()).toMatchObject({ sequence: 3, unsyncedKeys: ['colour'] });
    proxy.rule = null;
    await expect(c2.push()).resolves.toMatchObject({ kind: 'success', walletState: { sequence: 4 } });
    await converge(c1, c2);
    expect(c1.preferences()).toEqual({ animal: 'cow', car: 'c1#1', colour: 'green' });
  });

  describe('devices and documents from before the chain', () => {
    it('when a device state file from before the chain (no chain, no memory) syncs and pushes, then its chain comes from the server\'s headers and nothing is reported', async () => {
      const { c1, c2Store, c1Store } = await devices();
      await advance(c1, 2);
      const stored = (await c2Store.load())!;
      const { seen: _seen, ...legacy } = stored;
      const { chain: _chain, ...base } = stored.base!;
      await c2Store.save({ ...legacy, base });
      const reopened = await openDevice(server, 'test_wallet_2', { url: proxy.url, store: c2Store });

      await expect(reopened.sync()).resolves.toMatchObject({ pulled: true, sequence: 3, divergence: null });
      expect((await c2Store.load())!.base!.chain).toBe((await c1Store.load())!.base!.chain);
      // And a push straight from a base without a chain names its parent correctly too.
      await c2Store.save({ ...(await c2Store.load())!, base: { ...(await c2Store.load())!.base!, chain: undefined } });
      const again = await openDevice(server, 'test_wallet_2', { url: proxy.url, store: c2Store });
      await again.setPreference('colour', 'green');
      await expect(again.push()).resolves.toMatchObject({ kind: 'success', walletState: { sequence: 4 } });
      await expect(c1.sync()).resolves.toMatchObject({ pulled: true, sequence: 4, divergence: null });
      expect(c1.preferences()).toEqual({ animal: 'cow', car: 'c1#1', colour: 'green' });
    });

    it('when a state was written by a client before the chain (no prev in its document), then devices take it in through the headers, and the chain goes on from it', async () => {
      const { c1, c2, c1Store } = await devices();
      const state = (await c1Store.load())!;
      const keys = { hmacKey: Buffer.from(state.keys!.hmacKey, 'hex'), walletKey: Buffer.from(state.keys!.walletKey, 'hex') };
      const document = { preferences: { ...c1.document().preferences, car: { value: 'old client', updatedAt: Date.now(), deviceId: 'old-app' } } };
      const sealed = await sealWalletState(document, 2, keys);
      const response = await server.gql(UpdateWalletStateDocument, { input: sealed }, state.authToken!.token);
      expect(response.body.data!.updateWalletState.__typename).toBe('WalletStateSuccess');

      await expect(c2.sync()).resolves.toMatchObject({ pulled: true, sequence: 2, divergence: null });
      await advance(c1, 2);
      await expect(c2.sync()).resolves.toMatchObject({ pulled: true, sequence: 4, divergence: null });
      expect(c2.preferences()).toEqual({ animal: 'cow', car: 'c1#1' });
    });
  });
});
