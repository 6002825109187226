import { createRequestContext, type ContextDeps, type EstablishedSession } from '../../src/context';
import { ErrorCode } from '../../src/errors';
import type { AuthSession } from '../../src/services/session';

/**
 * The session of an operation over a live connection: the one connection_init
 * established, without a look-up, until the connection's session ends (its token
 * revoked or expired); from then on, an operation in flight fails UNAUTHENTICATED.
 */
describe('a request context over a live connection', () => {
  const session = { accountId: 7, deviceId: 'phone', expiresAt: new Date('2030-01-01T00:00:00Z') } as AuthSession;
  const lookups: string[] = [];
  const deps: ContextDeps = {
    sessions: {
      authenticate: async (token) => {
        lookups.push(token);
        return session;
      },
      authenticateWithWallet: async (token) => {
        lookups.push(token);
        return { session, wallet: null };
      },
    },
    wallets: { get: async () => ({ encryptedWallet: 'w', hmac: 'h', sequence: 3, updatedAt: new Date(0) }) },
    walletUpdates: { stream: () => { throw new Error('not used'); } },
  };

  it('when the connection is open, then the session is the established one and no token is looked up', async () => {
    const established: EstablishedSession = { session };
    const context = createRequestContext(deps, { requestId: 'ws-1', ip: '127.0.0.1', authorization: undefined, established });
    expect(await context.session()).toBe(session);
    expect((await context.wallet())?.sequence).toBe(3);
    expect(context.knownSession()).toBe(session);
    expect(lookups).toEqual([]);
  });

  it('when the connection\'s session ends during an operation, then what the operation asks next fails UNAUTHENTICATED', async () => {
    const established: EstablishedSession = { session };
    const context = createRequestContext(deps, { requestId: 'ws-2', ip: '127.0.0.1', authorization: undefined, established });
    expect(await context.session()).toBe(session);
    established.ended = true;
    await expect(context.session()).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
    await expect(context.wallet()).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
    expect(lookups).toEqual([]);
  });
});
