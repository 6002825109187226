import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../src/errors';
import { ManualClock } from '../helpers/clock';
import { LoginDocument, MeDocument, RegisterDocument, ServerInfoDocument, UpdateWalletStateDocument, WalletStateDocument } from '../../test-support/operations.generated';
import { startResolverTestServer, type ResolverTestServer } from '../helpers/resolvers';

/**
 * The resolvers through Apollo's executeOperation over the real schema and
 * services: typed documents in, typed results out. Adding a resolver means
 * adding its operation to the client's client/src/graphql/operations.graphql
 * (a probe no client sends: test-support/operations.graphql) and a test here.
 */
describe('wallet and account resolvers (executeOperation)', () => {
  let api: ResolverTestServer;
  const clock = new ManualClock(new Date('2026-05-01T10:00:00.000Z'));
  const password = 'correct horse battery staple';

  beforeAll(async () => {
    api = await startResolverTestServer({ MAX_WALLET_BYTES: '100' }, { clock });
  });
  afterAll(() => api.close());
  afterEach(() => expect(api.unexpectedErrors).toEqual([]));

  async function signedIn(deviceId = 'phone'): Promise<{ email: string; token: string }> {
    const email = `resolver-${randomBytes(4).toString('hex')}@example.com`;
    const registered = await api.execute(RegisterDocument, { input: { email, password, clientSaltSeed: 'ab'.repeat(32) } });
    expect(registered.data?.register.verified).toBe(true);
    const login = await api.execute(LoginDocument, { input: { email, password, deviceId } });
    return { email, token: login.data!.login.token };
  }
  const wallet = (sequence: number, tag = '') => ({ encryptedWallet: `encrypted-${sequence}${tag}`, sequence, hmac: `hmac-${sequence}${tag}` });

  it('when nothing was uploaded yet, then walletState is null', async () => {
    const { token } = await signedIn();
    expect(await api.execute(WalletStateDocument, {}, { token })).toEqual({ data: { walletState: null } });
  });

  it('when the next sequence is uploaded, then WalletStateSuccess stamped by the clock, and walletState returns it', async () => {
    const { token } = await signedIn();
    const result = await api.execute(UpdateWalletStateDocument, { input: wallet(1) }, { token });
    expect(result.data?.updateWalletState).toEqual({
      __typename: 'WalletStateSuccess',
      walletState: { ...wallet(1), updatedAt: clock.now().toISOString() },
    });
    expect((await api.execute(WalletStateDocument, {}, { token })).data?.walletState).toEqual({ ...wallet(1), updatedAt: clock.now().toISOString() });
  });

  it('when a stale sequence is uploaded, then WalletStateConflict carries the latest state', async () => {
    const { token } = await signedIn();
    await api.execute(UpdateWalletStateDocument, { input: wallet(1) }, { token });
    const result = await api.execute(UpdateWalletStateDocument, { input: wallet(1, '-stale') }, { token });
    expect(result.data?.updateWalletState).toMatchObject({ __typename: 'WalletStateConflict', latest: wallet(1) });
  });

  it.each([
    ['walletState is asked without a token', ErrorCode.Unauthenticated, () => api.execute(WalletStateDocument, {})],
    ['walletState is asked with an unknown token', ErrorCode.Unauthenticated, () => api.execute(WalletStateDocument, {}, { token: 'not-a-token' })],
    ['me is asked without a token', ErrorCode.Unauthenticated, () => api.execute(MeDocument, {})],
    ['a wallet is uploaded without a token', ErrorCode.Unauthenticated, () => api.execute(UpdateWalletStateDocument, { input: wallet(1) })],
  ])('when %s, then %s', async (_name, code, run) => {
    const result = await run();
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual([code]);
  });

  it.each([
    ['sequence 0', ErrorCode.BadUserInput, { ...wallet(1), sequence: 0 }, ['sequence']],
    ['an empty hmac', ErrorCode.BadUserInput, { ...wallet(1), hmac: '' }, ['hmac']],
    ['a wallet over MAX_WALLET_BYTES', ErrorCode.PayloadTooLarge, { ...wallet(1), encryptedWallet: 'x'.repeat(101) }, undefined],
  ])('when an upload has %s, then %s and nothing is stored', async (_name, code, input, fields) => {
    const { token } = await signedIn();
    const result = await api.execute(UpdateWalletStateDocument, { input }, { token });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code, ...(fields ? { fields } : {}) });
    expect((await api.execute(WalletStateDocument, {}, { token })).data?.walletState).toBeNull();
  });

  it('when me is asked, then the account and its signed-in devices are listed', async () => {
    const { email, token } = await signedIn('laptop');
    const result = await api.execute(MeDocument, {}, { token });
    expect(result.data?.me).toMatchObject({ email, verified: true, devices: [{ deviceId: 'laptop' }] });
  });

  it('when serverInfo is asked anonymously, then it tells the wallet size limit', async () => {
    const result = await api.execute(ServerInfoDocument, {});
    expect(result.data?.serverInfo.maxWalletBytes).toBe(100);
  });
});
