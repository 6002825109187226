import { startTestServer, type TestServer } from '../helpers/app';
import { registerAndLogin, upload, type Device } from '../helpers/operations';
import { WALLET_STATE } from '../helpers/operations';

/**
 * Real concurrent requests against the real database: the sequence check and
 * the write are one conditional statement, so exactly one of N uploads of the
 * same sequence lands, whatever the interleaving.
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
    const stored = (await server.gql(WALLET_STATE, {}, device.token)).body.data.walletState;
    expect(stored).toMatchObject({ sequence, encryptedWallet: winner.encryptedWallet, hmac: winner.hmac });
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
});
