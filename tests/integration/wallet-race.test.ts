import { queryRows } from '../../test-support/database';
import { startTestServer, type TestServer } from '../helpers/app';
import { PASSWORD, login, newSeed, register, registerAndLogin, upload, type Device } from '../../test-support/operations';
import { ChangePasswordDocument, WalletHistoryDocument, WalletStateDocument } from '../../test-support/operations.generated';

/**
 * Real concurrent requests against the real database: the sequence check and
 * the write are one conditional statement, so exactly one of N uploads of the
 * same sequence lands, whatever the interleaving. The winner's header is written
 * in the same transaction as its compare-and-set: every acknowledged state has
 * exactly one header, and no loser leaves one.
 */
describe('concurrent uploads of the same sequence', () => {
  let server: TestServer;
  let device: Device;
  const N = 24;

  beforeAll(async () => {
    server = await startTestServer();
    device = await registerAndLogin(server);
  });
  afterAll(() => server.close());

  async function race(sequence: number) {
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => upload(server, device, sequence, `racer-${sequence}-${i}`, `hmac-${sequence}-${i}`)),
    );
    const winners = results.filter((r) => r.__typename === 'WalletStateSuccess');
    const losers = results.filter((r) => r.__typename === 'WalletStateConflict');
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(N - 1);
    const winner = winners[0].walletState;
    for (const loser of losers) {
      expect(loser.latest).toMatchObject({ sequence, encryptedWallet: winner.encryptedWallet, hmac: winner.hmac });
    }
    const stored = (await server.gql(WalletStateDocument, {}, device.token)).body.data!.walletState;
    expect(stored).toMatchObject({ sequence, encryptedWallet: winner.encryptedWallet, hmac: winner.hmac });
    const headers = (await server.gql(WalletHistoryDocument, { sinceSequence: sequence - 1 }, device.token)).body.data!.walletHistory;
    expect(headers).toEqual([expect.objectContaining({ sequence, hmac: winner.hmac, bytes: Buffer.byteLength(winner.encryptedWallet) })]);
    const events = await server.app.db.run((m) =>
      queryRows(m, "SELECT COUNT(*) AS n FROM account_events WHERE kind = 'WALLET_UPDATED' AND sequence = ? AND device_id = ?", [sequence, device.deviceId]),
    );
    expect(Number(events[0].n)).toBe(1);
  }

  it('when N first uploads (sequence 1, the insert path) race, then exactly one wins and the others get its state', async () => {
    await race(1);
  });

  it('when N uploads of sequence 2 (the update path) race, then exactly one wins and the others get its state', async () => {
    await race(2);
  });

  it('when devices keep racing round after round, then the sequence advances by exactly one per round', async () => {
    for (let sequence = 3; sequence <= 6; sequence += 1) await race(sequence);
  });

  it('when uploads race a password change that swaps the wallet, then every acknowledged state has exactly one header and nothing else has one', async () => {
    const { email } = await register(server);
    const phone = await login(server, email, PASSWORD, 'phone');
    await upload(server, phone, 1, 'base', 'h-base');
    const uploads = Array.from({ length: 8 }, (_, i) =>
      server.gql(
        `mutation ($input: WalletStateInput!) { updateWalletState(input: $input) { __typename ... on WalletStateSuccess { walletState { sequence hmac } } } }`,
        { input: { encryptedWallet: `upload-${i}`, sequence: 2, hmac: `h-upload-${i}` } },
        phone.token,
      ),
    );
    const change = server.gql(ChangePasswordDocument, {
      input: { email, oldPassword: PASSWORD, newPassword: 'the new password', clientSaltSeed: newSeed(), wallet: { encryptedWallet: 'rekeyed', sequence: 2, hmac: 'h-rekeyed' } },
    });
    const [changed, ...uploaded] = await Promise.all([change, ...uploads]);
    const acknowledged: string[] = ['h-base'];
    for (const response of uploaded) {
      // An upload that ran after the password change had revoked the token is refused: it wrote nothing.
      const result = response.body.data?.updateWalletState;
      if (result?.__typename === 'WalletStateSuccess') acknowledged.push(result.walletState.hmac);
    }
    if (changed.body.data!.changePassword.__typename === 'ChangePasswordSuccess') acknowledged.push('h-rekeyed');
    expect(acknowledged).toHaveLength(2);
    const reader = await login(server, email, changed.body.data!.changePassword.__typename === 'ChangePasswordSuccess' ? 'the new password' : PASSWORD, 'reader');
    const headers = (await server.gql(WalletHistoryDocument, {}, reader.token)).body.data!.walletHistory;
    expect(headers.map((h: { sequence: number; hmac: string }) => [h.sequence, h.hmac])).toEqual(acknowledged.map((hmac, i) => [i + 1, hmac]));
  });
});
