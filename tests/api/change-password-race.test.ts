import pino from 'pino';

import { useTestServer } from '../helpers/hooks';
import { testDialect } from '../../test-support/database';
import { login, newSeed, register, upload } from '../../test-support/operations';
import { ChangePasswordDocument, UpdateWalletStateDocument } from '../../test-support/operations.generated';

/**
 * Issue 11, item 10: a changePassword that loses to a concurrent upload answers
 * WalletStateConflict with the winner's state, never a stale one read from its
 * transaction's snapshot (MariaDB runs REPEATABLE READ). Real concurrent
 * requests, round after round, on whichever database DATABASE_URL names. On
 * MariaDB the race also makes deadlocks (about one run in five before the
 * password change retried its deadlocked transaction); they must never reach
 * the client as INTERNAL_SERVER_ERROR.
 */
describe(`changePassword racing an upload returns the winner's state (${testDialect()})`, () => {
  const server = useTestServer({}, { logger: pino({ level: 'error' }, pino.destination(2)) });

  it('when a password change and an upload of the same sequence race, then exactly one lands and the loser\'s latest is the winner\'s state', async () => {
    const account = await register(server);
    let password = account.password;
    let device = await login(server, account.email, password, 'phone');
    await upload(server, device, 1);
    let sequence = 1;
    for (let round = 0; round < 12; round += 1) {
      const next = sequence + 1;
      const newPassword = `password of round ${round}`;
      const [uploaded, changed] = await Promise.all([
        server.gql(UpdateWalletStateDocument, { input: { encryptedWallet: `upload-${next}`, sequence: next, hmac: `u-${next}` } }, device.token),
        server.gql(ChangePasswordDocument, {
          input: { email: account.email, oldPassword: password, newPassword, clientSaltSeed: newSeed(), wallet: { encryptedWallet: `reencrypted-${next}`, sequence: next, hmac: `r-${next}` } },
        }),
      ]);
      const up = uploaded.body.data?.updateWalletState;
      if (!changed.body.data) throw new Error(JSON.stringify(changed.body.errors));
      const cp = changed.body.data!.changePassword;
      if (cp.__typename === 'ChangePasswordSuccess') {
        // The upload lost (or never authenticated: its token was revoked first).
        if (up) expect(up).toMatchObject({ __typename: 'WalletStateConflict', latest: { sequence: next, encryptedWallet: `reencrypted-${next}` } });
        password = newPassword;
        device = await login(server, account.email, password, 'phone');
      } else {
        expect(up).toMatchObject({ __typename: 'WalletStateSuccess', walletState: { sequence: next, encryptedWallet: `upload-${next}` } });
        expect(cp).toMatchObject({ __typename: 'WalletStateConflict', latest: { sequence: next, encryptedWallet: `upload-${next}`, hmac: `u-${next}` } });
      }
      sequence = next;
    }
  });
});

/**
 * Issue 25, item 11: an upload's token was checked before its transaction, so
 * on an account with no wallet an upload authenticated just before a password
 * change could land just after it: a wallet under the old keys, on an account
 * whose seed (and so whose keys) the change had just replaced, by a device whose
 * token the change had revoked. Real concurrent requests, round after round.
 */
describe(`an upload racing a password change on an account with no wallet (${testDialect()})`, () => {
  const server = useTestServer({}, { logger: pino({ level: 'error' }, pino.destination(2)) });

  it('when the first upload and a password change race, then never both succeed: the upload lands first (the change conflicts) or is refused UNAUTHENTICATED', async () => {
    const outcomes = new Map<string, number>();
    // How long a change takes here (argon2 twice, the transaction): the upload's start is spread over that span, so
    // it meets the change at every stage however fast or loaded the machine is.
    const timed = await register(server);
    const started = Date.now();
    await server.gql(ChangePasswordDocument, { input: { email: timed.email, oldPassword: timed.password, newPassword: 'a timed new password', clientSaltSeed: newSeed() } });
    const changeMs = Math.max(8, Date.now() - started);
    // At least 24 rounds, and on until both orders happened (at most 80).
    for (let round = 0; round < 80 && (round < 24 || outcomes.size < 2); round += 1) {
      const account = await register(server);
      const device = await login(server, account.email, account.password, 'phone');
      const newPassword = `password of round ${round}`;
      const changing = server.gql(ChangePasswordDocument, { input: { email: account.email, oldPassword: account.password, newPassword, clientSaltSeed: newSeed() } });
      // Spread over the change's argon2 checks, so the upload meets the change at every stage.
      await new Promise((resolve) => setTimeout(resolve, Math.round(((round % 8) / 8) * changeMs * 1.25)));
      const [uploaded, changed] = await Promise.all([server.gql(UpdateWalletStateDocument, { input: { encryptedWallet: 'old keys', sequence: 1, hmac: 'h' } }, device.token), changing]);
      const up = uploaded.body.data?.updateWalletState?.__typename ?? uploaded.body.errors?.[0]?.extensions?.code;
      const cp = changed.body.data?.changePassword?.__typename ?? changed.body.errors?.[0]?.extensions?.code;
      outcomes.set(`${up} + ${cp}`, (outcomes.get(`${up} + ${cp}`) ?? 0) + 1);
      expect([
        ['WalletStateSuccess', 'WalletStateConflict'],
        ['UNAUTHENTICATED', 'ChangePasswordSuccess'],
      ]).toContainEqual([up, cp]);
      if (cp === 'ChangePasswordSuccess') {
        const after = await login(server, account.email, newPassword, 'phone');
        expect((await server.gql('{ walletState { sequence } }', {}, after.token)).body.data).toEqual({ walletState: null });
      }
    }
    // Both orders happened: the test did race.
    expect(outcomes.size).toBe(2);
  });
});

/**
 * Issue 24, item 4: a revocation and an upload of the device it revokes are
 * ordered: an upload that succeeded landed before the revocation, so a read
 * made after the revocation answered sees it. On one server the row locks
 * give that order; on a Galera cluster the upload's locking read of its token
 * is local to its node and the revocation's delete wrote nothing the upload
 * writes, so only the wallet row that both now write orders them
 * (WalletRepository.claim). Real concurrent requests, round after round.
 */
describe(`an upload racing the revocation of its device (${testDialect()})`, () => {
  // The operations as text (only the fields this test reads), as the race above reads walletState.
  const UPLOAD = 'mutation ($input: WalletStateInput!) { updateWalletState(input: $input) { __typename } }';
  const REVOKE = 'mutation ($deviceId: String!) { revokeDevice(deviceId: $deviceId) }';
  const SEQUENCE = '{ walletState { sequence } }';
  const server = useTestServer({}, { logger: pino({ level: 'error' }, pino.destination(2)) });

  it('when a device uploads while another device revokes it, then the upload lands before the revocation (a read after it sees the upload) or is refused UNAUTHENTICATED', async () => {
    const account = await register(server);
    const keeper = await login(server, account.email, account.password, 'laptop');
    let sequence = 0;
    for (let round = 0; round < 24; round += 1) {
      const revoked = await login(server, account.email, account.password, `phone-${round}`);
      const next = sequence + 1;
      const uploading = server.gql(UPLOAD, { input: { encryptedWallet: `upload-${next}`, sequence: next, hmac: `u-${next}` } }, revoked.token);
      // Spread over the upload's stages, so the revocation meets it before, during and after its transaction.
      await new Promise((resolve) => setTimeout(resolve, round % 6));
      const revocation = await server.gql(REVOKE, { deviceId: revoked.deviceId }, keeper.token);
      expect(revocation.body.data).toEqual({ revokeDevice: true });
      const seen = (await server.gql(SEQUENCE, {}, keeper.token)).body.data?.walletState?.sequence ?? 0;
      const uploaded = await uploading;
      const up = uploaded.body.data?.updateWalletState?.__typename ?? uploaded.body.errors?.[0]?.extensions?.code;
      expect(['WalletStateSuccess', 'UNAUTHENTICATED']).toContain(up);
      expect(seen).toBe(up === 'WalletStateSuccess' ? next : sequence);
      sequence = seen;
    }
  });
});
