import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { ROOT_PASSWORD, openDevice, twoDevices } from '../helpers/devices';
import { startGraphQLProxy } from '../helpers/graphql-proxy';

/** Undo (issue 14): history(), restore(sequence) and activity() against the real server. */
describe('undoing a change with history() and restore()', () => {
  let server: TestServer;

  beforeAll(async () => {
    // Few versions kept, so a test can reach one that is no longer kept.
    server = await startTestServer({ WALLET_VERSIONS_KEPT: '3' });
  });
  afterAll(() => server.close());

  it('when a device restores an earlier sequence, then its content becomes the newest state on every device, as a change on top', async () => {
    const { c1, c2 } = await twoDevices(server);
    await c1.setPreference('animal', 'cow');
    await c1.sync();
    await c2.sync();
    await c2.setPreference('animal', 'horse');
    await c2.setPreference('car', 'Audi');
    await c2.sync();

    const history = await c1.history();
    expect(history.map((entry) => [entry.sequence, entry.deviceId, entry.contentKept])).toEqual([
      [2, 'test_wallet_2', true],
      [1, 'test_wallet_1', true],
    ]);
    expect(history[0]).toMatchObject({ hmac: expect.stringMatching(/^[0-9a-f]{64}$/), updatedAt: expect.any(String), bytes: expect.any(Number) });

    const result = await c1.restore(1);
    expect(result).toEqual({ restoredFrom: 1, sequence: 3, changedKeys: ['animal', 'car'], divergence: null });
    expect(c1.preferences()).toEqual({ animal: 'cow' });
    await c2.sync();
    expect(c2.preferences()).toEqual({ animal: 'cow' });
    // Nothing rewritten: the undone state is still there, and can itself be restored.
    expect((await c2.history({ limit: 2 })).map((entry) => entry.sequence)).toEqual([3, 2]);
    await expect(c2.restore(2)).resolves.toMatchObject({ sequence: 4, changedKeys: ['animal', 'car'] });
    await c1.sync();
    expect(c1.preferences()).toEqual({ animal: 'horse', car: 'Audi' });
  });

  it('when the device has unsynced edits, then restore syncs them first, so the undo lands on top without losing them', async () => {
    const { c1, c2 } = await twoDevices(server);
    await c1.setPreference('animal', 'cow');
    await c1.sync();
    await c2.sync();
    await c2.setPreference('animal', 'horse');
    await c2.sync();
    await c1.setPreference('city', 'Oslo');
    await expect(c1.restore(1)).resolves.toMatchObject({ restoredFrom: 1, sequence: 4, changedKeys: ['animal', 'city'] });
    // The unsynced edit went up at 3 and is in the history; the restore then brought back sequence 1 exactly.
    expect(c1.preferences()).toEqual({ animal: 'cow' });
    await c2.restore(3);
    expect(c2.preferences()).toEqual({ animal: 'horse', city: 'Oslo' });
  });

  it('when the sequence is the current one, then restore changes nothing and uploads nothing', async () => {
    const { c1 } = await twoDevices(server);
    await c1.setPreference('animal', 'cow');
    await c1.sync();
    await expect(c1.restore(1)).resolves.toEqual({ restoredFrom: 1, sequence: 1, changedKeys: [], divergence: null });
  });

  it.each([
    ['the server no longer keeps its content', 1],
    ['it is newer than the wallet', 99],
  ])('when %s, then restore refuses with WALLET_VERSION_NOT_KEPT and changes nothing', async (_what, sequence) => {
    const { c1 } = await twoDevices(server);
    for (const animal of ['cow', 'horse', 'beaver', 'cat', 'dog']) {
      await c1.setPreference('animal', animal);
      await c1.sync();
    }
    expect((await c1.history()).map((entry) => entry.contentKept)).toEqual([true, true, true, false, false]);
    await expect(c1.restore(sequence)).rejects.toMatchObject({ code: 'WALLET_VERSION_NOT_KEPT', message: expect.stringContaining(`sequence ${sequence}`) });
    expect(c1.status()).toMatchObject({ sequence: 5, unsyncedKeys: [] });
    expect(c1.preferences()).toEqual({ animal: 'dog' });
  });

  it('when the version was encrypted under a password changed since, then restore refuses with WALLET_VERSION_EARLIER_PASSWORD', async () => {
    const { c1 } = await twoDevices(server);
    await c1.setPreference('animal', 'cow');
    await c1.sync();
    await c1.changePassword(ROOT_PASSWORD, `${ROOT_PASSWORD} 2`);
    const history = await c1.history();
    expect(history.map((entry) => [entry.sequence, entry.deviceId, entry.contentKept])).toEqual([
      [2, null, true],
      [1, 'test_wallet_1', false],
    ]);
    await expect(c1.restore(1)).rejects.toMatchObject({ code: 'WALLET_VERSION_EARLIER_PASSWORD' });
  });

  it.each([0, -1, 1.5, Number.NaN])('when the sequence is %p, then restore refuses with INVALID_ARGUMENT', async (sequence) => {
    const { c1 } = await twoDevices(server);
    expect(() => c1.restore(sequence)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('when a device asks for the account\'s activity, then it gets the security log newest first: logins (new devices flagged) and wallet updates', async () => {
    const { c1, c2 } = await twoDevices(server);
    await c2.setPreference('animal', 'cow');
    await c2.sync();
    const events = await c1.activity();
    expect(events.map((event) => [event.kind, event.deviceId, event.sequence])).toEqual([
      ['WALLET_UPDATED', 'test_wallet_2', 1],
      ['LOGIN', 'test_wallet_2', null],
      ['LOGIN', 'test_wallet_1', null],
      ['REGISTERED', null, null],
    ]);
    expect(events[1]).toMatchObject({ newDevice: true, ipPrefix: '127.0.0.0/24' });
    await expect(c1.activity({ limit: 1 })).resolves.toHaveLength(1);
  });

  it.each<[string, (page: { sequence: number }[]) => { sequence: number }[]]>([
    ['answers the same page forever', (page) => page],
    ['answers a page whose sequences go back', (page) => page.map((header) => ({ ...header, sequence: 1 }))],
  ])('when a hostile server %s, then history() fails with WALLET_HISTORY_INVALID instead of asking forever', async (_what, lie) => {
    const { c1, email } = await twoDevices(server);
    await c1.setPreference('animal', 'cow');
    await c1.sync();
    await c1.setPreference('animal', 'horse');
    await c1.sync();
    // A real HTTP server in front of the real one, whose walletHistory never moves past what was asked.
    const hostile = await startGraphQLProxy(server.url);
    try {
      const c3 = await openDevice(server, 'test_wallet_3', { url: hostile.url });
      await c3.login({ email, rootPassword: ROOT_PASSWORD });
      const truth = (await c1.history()).reverse();
      let asked = 0;
      // Gives up after 50 pages, so a client that keeps asking fails this test instead of hanging it.
      hostile.rule = ({ operationName }) =>
        operationName === 'WalletHistory' ? ((asked += 1), { answer: { data: { walletHistory: asked > 50 ? [] : lie(truth) } } }) : undefined;
      await expect(c3.history()).rejects.toMatchObject({ code: 'WALLET_HISTORY_INVALID', message: expect.stringMatching(/does not advance/) });
      expect(asked).toBeLessThanOrEqual(2);
    } finally {
      await hostile.close();
    }
  });
});
