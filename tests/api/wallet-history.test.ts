import { queryRows } from '../../test-support/database';
import { errorCode, type Operation } from '../../test-support/graphql-http';
import { type TestServer } from '../helpers/app';
import { useTestServer } from '../helpers/hooks';
import { PASSWORD, login, newSeed, register, registerAndLogin, upload, type Device } from '../../test-support/operations';
import { ChangePasswordDocument, DeleteAccountDocument, WalletHistoryDocument, WalletVersionDocument } from '../../test-support/operations.generated';

const history = async (server: TestServer, device: Device, variables: Record<string, unknown> = {}) => {
  const response = await server.gql(WalletHistoryDocument, variables, device.token);
  if (response.body.errors) throw new Error(JSON.stringify(response.body.errors));
  return response.body.data!.walletHistory as Array<{ sequence: number; hmac: string; deviceId: string | null; bytes: number; contentKept: boolean; updatedAt: string }>;
};
const version = async (server: TestServer, device: Device, sequence: number) => {
  const response = await server.gql(WalletVersionDocument, { sequence }, device.token);
  if (response.body.errors) throw new Error(JSON.stringify(response.body.errors));
  return response.body.data!.walletVersion as { sequence: number; encryptedWallet: string; hmac: string; updatedAt: string } | null;
};

describe('wallet history over HTTP (WALLET_VERSIONS_KEPT=3)', () => {
  const server = useTestServer({ WALLET_VERSIONS_KEPT: '3' });

  it('when states are accepted, then each has a header (sequence, hmac, device, size) and the 3 most recent keep their content', async () => {
    const { email, password } = await register(server);
    const phone = await login(server, email, password, 'phone');
    const laptop = await login(server, email, password, 'laptop');
    for (let sequence = 1; sequence <= 5; sequence += 1) {
      await upload(server, sequence % 2 ? phone : laptop, sequence, `wället-${sequence}`, `hmac-${sequence}`);
    }
    const headers = await history(server, phone);
    expect(headers.map((h) => [h.sequence, h.hmac, h.deviceId, h.bytes, h.contentKept])).toEqual([
      [1, 'hmac-1', 'phone', Buffer.byteLength('wället-1'), false],
      [2, 'hmac-2', 'laptop', Buffer.byteLength('wället-2'), false],
      [3, 'hmac-3', 'phone', Buffer.byteLength('wället-3'), true],
      [4, 'hmac-4', 'laptop', Buffer.byteLength('wället-4'), true],
      [5, 'hmac-5', 'phone', Buffer.byteLength('wället-5'), true],
    ]);
    expect(await version(server, laptop, 3)).toMatchObject({ sequence: 3, encryptedWallet: 'wället-3', hmac: 'hmac-3', updatedAt: headers[2].updatedAt });
    expect(await version(server, laptop, 5)).toMatchObject({ sequence: 5, encryptedWallet: 'wället-5' });
    expect(await version(server, laptop, 2)).toBeNull();
    expect(await version(server, laptop, 6)).toBeNull();
  });

  it('when a client undoes a bad sync, then it uploads an earlier content as a new state and nothing is rewritten', async () => {
    const device = await registerAndLogin(server);
    await upload(server, device, 1, 'good');
    await upload(server, device, 2, 'bad sync');
    const earlier = (await version(server, device, 1))!;
    expect((await upload(server, device, 3, earlier.encryptedWallet, 'hmac-undo')).__typename).toBe('WalletStateSuccess');
    expect((await history(server, device)).map((h) => [h.sequence, h.hmac])).toEqual([
      [1, 'hmac-1'],
      [2, 'hmac-2'],
      [3, 'hmac-undo'],
    ]);
    expect((await version(server, device, 2))!.encryptedWallet).toBe('bad sync');
  });

  it('when paging with sinceSequence and limit, then headers come oldest first, after sinceSequence, at most limit', async () => {
    const device = await registerAndLogin(server);
    for (let sequence = 1; sequence <= 7; sequence += 1) await upload(server, device, sequence);
    expect((await history(server, device, { sinceSequence: 2, limit: 3 })).map((h) => h.sequence)).toEqual([3, 4, 5]);
    expect((await history(server, device, { sinceSequence: 5 })).map((h) => h.sequence)).toEqual([6, 7]);
    expect(await history(server, device, { sinceSequence: 7 })).toEqual([]);
    expect((await history(server, device, { limit: 1 })).map((h) => h.sequence)).toEqual([1]);
    expect((await history(server, device, { limit: 1000 })).map((h) => h.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('when the account has no wallet yet, then the history is empty and no version answers', async () => {
    const device = await registerAndLogin(server);
    expect(await history(server, device)).toEqual([]);
    expect(await version(server, device, 1)).toBeNull();
  });

  it('when an upload loses (a conflict) or repeats the current state (a retry), then no header is added', async () => {
    const device = await registerAndLogin(server);
    await upload(server, device, 1, 'one', 'h1');
    expect((await upload(server, device, 1, 'stale', 'hx')).__typename).toBe('WalletStateConflict');
    expect((await upload(server, device, 3, 'ahead', 'hy')).__typename).toBe('WalletStateConflict');
    expect((await upload(server, device, 1, 'one', 'h1')).__typename).toBe('WalletStateSuccess');
    expect((await history(server, device)).map((h) => [h.sequence, h.hmac])).toEqual([[1, 'h1']]);
  });

  it('when the password changes, then every earlier content is dropped, headers stay, and the new state has no device', async () => {
    const device = await registerAndLogin(server);
    await upload(server, device, 1);
    await upload(server, device, 2);
    const response = await server.gql(ChangePasswordDocument, {
      input: { email: device.email, oldPassword: PASSWORD, newPassword: 'a brand new password', clientSaltSeed: newSeed(), wallet: { encryptedWallet: 'rekeyed', sequence: 3, hmac: 'h3' } },
    });
    expect(response.body.data!.changePassword.__typename).toBe('ChangePasswordSuccess');
    const again = await login(server, device.email, 'a brand new password', device.deviceId);
    expect((await history(server, again)).map((h) => [h.sequence, h.deviceId, h.contentKept])).toEqual([
      [1, 'device-1', false],
      [2, 'device-1', false],
      [3, null, true],
    ]);
    expect(await version(server, again, 2)).toBeNull();
    expect((await version(server, again, 3))!.encryptedWallet).toBe('rekeyed');
  });

  it('when a password change loses its wallet race (wrong sequence), then nothing is dropped and no header is added', async () => {
    const device = await registerAndLogin(server);
    await upload(server, device, 1);
    await upload(server, device, 2);
    const response = await server.gql(ChangePasswordDocument, {
      input: { email: device.email, oldPassword: PASSWORD, newPassword: 'a brand new password', clientSaltSeed: newSeed(), wallet: { encryptedWallet: 'x', sequence: 2, hmac: 'hx' } },
    });
    expect(response.body.data!.changePassword.__typename).toBe('WalletStateConflict');
    expect((await history(server, device)).map((h) => [h.sequence, h.contentKept])).toEqual([
      [1, true],
      [2, true],
    ]);
  });

  it('when another account asks, then it sees only its own history (cross-account isolation)', async () => {
    const alice = await registerAndLogin(server, 'alice-phone');
    const bob = await registerAndLogin(server, 'bob-phone');
    await upload(server, alice, 1, 'alice secret');
    expect(await history(server, bob)).toEqual([]);
    expect(await version(server, bob, 1)).toBeNull();
    await upload(server, bob, 1, 'bob wallet');
    expect((await version(server, bob, 1))!.encryptedWallet).toBe('bob wallet');
    expect((await version(server, alice, 1))!.encryptedWallet).toBe('alice secret');
  });

  it('when the account is deleted, then its history, security log and known devices go with it', async () => {
    const device = await registerAndLogin(server);
    await upload(server, device, 1);
    await upload(server, device, 2);
    const [{ id }] = await server.app.db.run((m) => queryRows(m, 'SELECT id FROM accounts WHERE email = ?', [device.email]));
    const count = async (table: string) =>
      Number((await server.app.db.run((m) => queryRows(m, `SELECT COUNT(*) AS n FROM ${table} WHERE account_id = ?`, [id])))[0].n);
    for (const table of ['wallet_versions', 'account_events', 'known_devices']) expect(await count(table)).toBeGreaterThan(0);
    expect((await server.gql(DeleteAccountDocument, { password: PASSWORD }, device.token)).body.data!.deleteAccount).toBe(true);
    for (const table of ['wallet_versions', 'account_events', 'known_devices']) expect(await count(table)).toBe(0);
  });

  it.each<[string, string, Operation, Record<string, unknown>]>([
    ['walletHistory is asked without a token', 'UNAUTHENTICATED', WalletHistoryDocument, {}],
    ['walletVersion is asked without a token', 'UNAUTHENTICATED', WalletVersionDocument, { sequence: 1 }],
  ])('when %s, then %s', async (_case, code, query, variables) => {
    expect(errorCode(await server.gql(query, variables))).toBe(code);
  });

  it.each<[string, string, Record<string, unknown>]>([
    ['limit 0', 'limit', { limit: 0 }],
    ['limit 1001', 'limit', { limit: 1001 }],
    ['limit -5', 'limit', { limit: -5 }],
    ['sinceSequence -1', 'sinceSequence', { sinceSequence: -1 }],
  ])('when walletHistory gets %s, then BAD_USER_INPUT naming %s (never clamped)', async (_case, field, variables) => {
    const device = await registerAndLogin(server);
    const response = await server.gql(WalletHistoryDocument, variables, device.token);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(response.body.errors![0].message).toContain(field);
    expect(response.body.data ?? null).toBeNull();
  });

  it.each([[0], [-1]])('when walletVersion gets sequence %d, then BAD_USER_INPUT', async (sequence) => {
    const device = await registerAndLogin(server);
    expect(errorCode(await server.gql(WalletVersionDocument, { sequence }, device.token))).toBe('BAD_USER_INPUT');
  });

  it('when serverInfo is asked, then it tells how many versions keep their content', async () => {
    expect((await server.gql('{ serverInfo { walletVersionsKept } }')).body.data!.serverInfo.walletVersionsKept).toBe(3);
  });
});

describe('wallet history with WALLET_VERSIONS_KEPT=0', () => {
  const server = useTestServer({ WALLET_VERSIONS_KEPT: '0' });

  it('when states are accepted, then only the current one answers walletVersion, and no earlier content is stored', async () => {
    const device = await registerAndLogin(server);
    for (let sequence = 1; sequence <= 3; sequence += 1) await upload(server, device, sequence);
    expect((await history(server, device)).map((h) => [h.sequence, h.contentKept])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(await version(server, device, 2)).toBeNull();
    expect((await version(server, device, 3))!.encryptedWallet).toBe('wallet-3');
    const stored = await server.app.db.run((m) => m.query('SELECT COUNT(*) AS n FROM wallet_versions WHERE encrypted_wallet IS NOT NULL'));
    expect(Number(stored[0].n)).toBe(0);
    expect((await server.gql('{ serverInfo { walletVersionsKept } }')).body.data!.serverInfo.walletVersionsKept).toBe(0);
  });
});
