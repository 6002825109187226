import pino from 'pino';

import { useTestServer } from '../helpers/hooks';
import { testDialect } from '../../test-support/database';
import { login, newSeed, register, upload } from '../../test-support/operations';
import { ChangePasswordDocument, UpdateDocument } from '../../test-support/operations.generated';

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
        server.gql(UpdateDocument, { input: { encryptedWallet: `upload-${next}`, sequence: next, hmac: `u-${next}` } }, device.token),
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
