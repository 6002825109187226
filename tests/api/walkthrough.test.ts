import { startTestServer, type TestServer } from '../helpers/app';
import { login, register, upload, uniqueEmail, type Device } from '../../test-support/operations';
import { WalletStateDocument } from '../../test-support/operations.generated';

/**
 * The walkthrough of ../shared/reference/test-client-walkthrough.txt over HTTP:
 * two devices of one account register, sync, diverge, hit a conflict carrying the
 * latest state, merge and retry. Wallet contents are opaque strings here; the
 * client's encryption and merge are tested with the client.
 */
describe('the two-device walkthrough', () => {
  let server: TestServer;
  let c1: Device;
  let c2: Device;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  const pull = async (device: Device) => (await server.gql(WalletStateDocument, {}, device.token)).body.data!.walletState;

  it('when both devices follow the walkthrough, then every step answers as it reads', async () => {
    const account = await register(server, uniqueEmail('joe2'));
    c1 = await login(server, account.email, account.password, 'test_wallet_1');
    c2 = await login(server, account.email, account.password, 'test_wallet_2');
    expect(c1.token).not.toEqual(c2.token);

    // c1.init_wallet_state(): nothing on the server yet.
    expect(await pull(c1)).toBeNull();
    const first = await upload(server, c1, 1, 'czo4MTkyOjE2OjE6-first');
    expect(first).toMatchObject({ __typename: 'WalletStateSuccess', walletState: { sequence: 1, encryptedWallet: 'czo4MTkyOjE2OjE6-first' } });

    // c2.init_wallet_state(): gets what c1 uploaded.
    expect(await pull(c2)).toMatchObject({ sequence: 1, encryptedWallet: 'czo4MTkyOjE2OjE6-first' });

    // Updating both ways.
    expect((await upload(server, c2, 2, 'w2')).__typename).toBe('WalletStateSuccess');
    expect(await pull(c1)).toMatchObject({ sequence: 2, encryptedWallet: 'w2' });
    expect((await upload(server, c1, 3, 'w3-animal-cow')).__typename).toBe('WalletStateSuccess');
    expect(await pull(c2)).toMatchObject({ sequence: 3, encryptedWallet: 'w3-animal-cow' });

    // Merging: c1 pushes first, c2 pulls, merges on top of its own edits, pushes.
    expect((await upload(server, c1, 4, 'w4-car-audi')).__typename).toBe('WalletStateSuccess');
    expect(await pull(c2)).toMatchObject({ sequence: 4 });
    expect((await upload(server, c2, 5, 'w5-horse-audi')).__typename).toBe('WalletStateSuccess');
    expect(await pull(c1)).toMatchObject({ sequence: 5, encryptedWallet: 'w5-horse-audi' });

    // Conflicts: both diverge from 5; c2 lands 6, c1's 6 conflicts and carries c2's state.
    expect((await upload(server, c2, 6, 'w6-beaver-audi')).__typename).toBe('WalletStateSuccess');
    const conflict = await upload(server, c1, 6, 'w6-horse-toyota');
    expect(conflict).toMatchObject({ __typename: 'WalletStateConflict', latest: { sequence: 6, encryptedWallet: 'w6-beaver-audi', hmac: 'hmac-6' } });

    // c1 merges what the conflict carried and retries at latest.sequence + 1.
    if (conflict.__typename !== 'WalletStateConflict') throw new Error('expected a conflict');
    const merged = await upload(server, c1, conflict.latest!.sequence + 1, 'w7-beaver-toyota');
    expect(merged).toMatchObject({ __typename: 'WalletStateSuccess', walletState: { sequence: 7, encryptedWallet: 'w7-beaver-toyota' } });
    expect(await pull(c2)).toMatchObject({ sequence: 7, encryptedWallet: 'w7-beaver-toyota', hmac: 'hmac-7' });
  });

  it('when a device re-sends exactly the current state (a lost response), then it is a success, not a conflict', async () => {
    const again = await upload(server, c1, 7, 'w7-beaver-toyota', 'hmac-7');
    expect(again).toMatchObject({ __typename: 'WalletStateSuccess', walletState: { sequence: 7 } });
    const different = await upload(server, c2, 7, 'w7-other', 'hmac-7');
    expect(different).toMatchObject({ __typename: 'WalletStateConflict', latest: { encryptedWallet: 'w7-beaver-toyota' } });
  });

  it('when a device skips ahead of current + 1, then it conflicts and nothing is written', async () => {
    const skipped = await upload(server, c1, 9, 'w9');
    expect(skipped).toMatchObject({ __typename: 'WalletStateConflict', latest: { sequence: 7 } });
    expect(await pull(c2)).toMatchObject({ sequence: 7, encryptedWallet: 'w7-beaver-toyota' });
  });

  it('when another account uploads, then it never sees or touches this account\'s wallet', async () => {
    const other = await register(server);
    const stranger = await login(server, other.email, other.password, 'x');
    expect(await pull(stranger)).toBeNull();
    const conflict = await upload(server, stranger, 8, 'intruder');
    expect(conflict).toMatchObject({ __typename: 'WalletStateConflict', latest: null });
    expect(await pull(c1)).toMatchObject({ sequence: 7 });
  });
});
