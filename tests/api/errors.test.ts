import { startTestServer, type TestServer } from '../helpers/app';
import { errorCode, type Operation, unchecked } from '../../test-support/graphql-http';
import { useTestServer } from '../helpers/hooks';
import { PASSWORD, newSeed, register, registerAndLogin, uniqueEmail, upload, type Device } from '../../test-support/operations';
import { ChangePasswordDocument, LoginDocument, RegisterDocument, RevokeDocument, SeedDocument, UpdateWalletStateDocument, WalletStateDocument } from '../../test-support/operations.generated';
import { WalletRepository } from '../../src/db/repositories/wallet.repository';

/** Each document with variables its input validation refuses (they still match the variables' GraphQL types). */
type Case = [name: string, operation: Operation, variables: (device: Device) => Record<string, unknown>, field?: string];

const seed = newSeed();
const registerWith = (input: Record<string, unknown>) => () => ({ input: { email: uniqueEmail(), password: PASSWORD, clientSaltSeed: seed, ...input } });
const loginWith = (input: Record<string, unknown>) => (d: Device) => ({ input: { email: d.email, password: d.password, deviceId: 'd', ...input } });
const walletWith = (input: Record<string, unknown>) => () => ({ input: { encryptedWallet: 'e', sequence: 1, hmac: 'h', ...input } });
const changeWith = (input: Record<string, unknown>) => (d: Device) => ({
  input: { email: d.email, oldPassword: d.password, newPassword: 'a new password', clientSaltSeed: seed, ...input },
});

describe('bad input and error codes', () => {
  let server: TestServer;
  let device: Device;

  beforeAll(async () => {
    server = await startTestServer();
    device = await registerAndLogin(server);
  });
  afterAll(() => server.close());

  const BAD_USER_INPUT: Case[] = [
    ['email with a display name', RegisterDocument, registerWith({ email: 'Joe <joe@example.com>' }), 'email'],
    ['email with surrounding spaces', RegisterDocument, registerWith({ email: ' joe@example.com ' }), 'email'],
    ['email without a domain', RegisterDocument, registerWith({ email: 'joe' }), 'email'],
    ['email over 254 characters', RegisterDocument, registerWith({ email: `${'a'.repeat(64)}@${'b'.repeat(190)}.com` }), 'email'],
    ['password of 7 characters', RegisterDocument, registerWith({ password: '1234567' }), 'password'],
    ['password of 1025 characters', RegisterDocument, registerWith({ password: 'p'.repeat(1025) }), 'password'],
    ['clientSaltSeed of 63 hex characters', RegisterDocument, registerWith({ clientSaltSeed: 'a'.repeat(63) }), 'clientSaltSeed'],
    ['clientSaltSeed with a non-hex character', RegisterDocument, registerWith({ clientSaltSeed: `${'a'.repeat(63)}g` }), 'clientSaltSeed'],
    ['empty deviceId', LoginDocument, loginWith({ deviceId: '' }), 'deviceId'],
    ['deviceId of 256 characters', LoginDocument, loginWith({ deviceId: 'd'.repeat(256) }), 'deviceId'],
    ['deviceId with a trailing space', LoginDocument, loginWith({ deviceId: 'laptop ' }), 'deviceId'],
    ['deviceId with a leading tab', LoginDocument, loginWith({ deviceId: '\tlaptop' }), 'deviceId'],
    ['deviceId with a trailing no-break space', LoginDocument, loginWith({ deviceId: 'laptop\u00a0' }), 'deviceId'],
    ['deviceId with a newline inside', LoginDocument, loginWith({ deviceId: 'lap\ntop' }), 'deviceId'],
    ['deviceId that clears the screen (ESC [2J)', LoginDocument, loginWith({ deviceId: 'laptop\u001b[2J' }), 'deviceId'],
    ['deviceId that writes the clipboard (OSC 52)', LoginDocument, loginWith({ deviceId: '\u001b]52;c;ZWNobyBoaQ==\u0007laptop' }), 'deviceId'],
    ['deviceId with a C1 control (CSI)', LoginDocument, loginWith({ deviceId: 'laptop\u009b2J' }), 'deviceId'],
    ['deviceId with DEL', LoginDocument, loginWith({ deviceId: 'laptop\u007f' }), 'deviceId'],
    ['revokeDevice of a deviceId with a trailing space', RevokeDocument, () => ({ deviceId: 'laptop ' }), 'deviceId'],
    ['revokeDevice of a deviceId with an escape', RevokeDocument, () => ({ deviceId: '\u001b]0;pwned\u0007' }), 'deviceId'],
    ['empty login password', LoginDocument, loginWith({ password: '' }), 'password'],
    ['sequence 0', UpdateWalletStateDocument, walletWith({ sequence: 0 }), 'sequence'],
    ['negative sequence', UpdateWalletStateDocument, walletWith({ sequence: -5 }), 'sequence'],
    ['empty encryptedWallet', UpdateWalletStateDocument, walletWith({ encryptedWallet: '' }), 'encryptedWallet'],
    ['empty hmac', UpdateWalletStateDocument, walletWith({ hmac: '' }), 'hmac'],
    ['hmac of 256 characters', UpdateWalletStateDocument, walletWith({ hmac: 'h'.repeat(256) }), 'hmac'],
    ['newPassword equal to oldPassword', ChangePasswordDocument, (d) => changeWith({ newPassword: d.password })(d), 'newPassword'],
    ['newPassword too short', ChangePasswordDocument, changeWith({ newPassword: 'short' }), 'newPassword'],
    ['bad clientSaltSeed on password change', ChangePasswordDocument, changeWith({ clientSaltSeed: 'xyz' }), 'clientSaltSeed'],
    ['bad wallet inside a password change', ChangePasswordDocument, changeWith({ wallet: { encryptedWallet: '', sequence: 1, hmac: 'h' } }), 'wallet.encryptedWallet'],
    ['bad email to clientSaltSeed', SeedDocument, () => ({ email: 'not-an-email' }), 'email'],
  ];

  it.each(BAD_USER_INPUT)('when %s, then BAD_USER_INPUT names the field and nothing is written', async (_name, query, variables, field) => {
    const response = await server.gql(query, variables(device), device.token);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(response.body.errors![0].message).toContain(`${field}:`);
    expect(response.body.errors![0].extensions!.fields).toContain(field);
    // Validation errors never echo the rejected values back (they may be passwords).
    expect(JSON.stringify(response.body)).not.toContain('validationErrors');
    expect(JSON.stringify(response.body)).not.toContain('p'.repeat(100));
    const wallet = await server.gql(WalletStateDocument, {}, device.token);
    expect(wallet.body.data!.walletState).toBeNull();
  });

  it.each<[string, Record<string, unknown>]>([
    ['a sequence over 2^31-1', { encryptedWallet: 'e', sequence: 2 ** 31, hmac: 'h' }],
    ['a sequence given as a string', { encryptedWallet: 'e', sequence: '1', hmac: 'h' }],
    ['an unknown input field', { encryptedWallet: 'e', sequence: 1, hmac: 'h', extra: true }],
    ['a missing input field', { encryptedWallet: 'e', sequence: 1 }],
  ])('when a variable has %s, then Apollo rejects it with BAD_USER_INPUT and HTTP 400', async (_name, input) => {
    const response = await server.gql(unchecked(UpdateWalletStateDocument), { input }, device.token);
    expect(response.status).toBe(400);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
  });

  it.each<[string, string | undefined]>([
    ['no Authorization header', undefined],
    ['an unknown token', 'not-a-real-token'],
  ])('when a token-only query has %s, then UNAUTHENTICATED', async (_name, token) => {
    const response = await server.gql(WalletStateDocument, {}, token);
    expect(errorCode(response)).toBe('UNAUTHENTICATED');
  });

  it('when the Authorization header is not a Bearer token, then UNAUTHENTICATED', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${device.token}` },
      body: JSON.stringify({ query: '{ walletState { sequence } }' }),
    });
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('when logging in with a wrong password or an unknown email, then both answer the same UNAUTHENTICATED', async () => {
    const wrong = await server.gql(LoginDocument, { input: { email: device.email, password: 'wrong password', deviceId: 'x' } });
    const unknown = await server.gql(LoginDocument, { input: { email: uniqueEmail('ghost'), password: 'wrong password', deviceId: 'x' } });
    expect(errorCode(wrong)).toBe('UNAUTHENTICATED');
    expect(wrong.body.errors![0].message).toBe(unknown.body.errors![0].message);
    expect(errorCode(unknown)).toBe('UNAUTHENTICATED');
  });

  it('when an email is registered again in another letter case (AllowAll), then EMAIL_TAKEN', async () => {
    const response = await server.gql(RegisterDocument, { input: { email: device.email.toUpperCase(), password: PASSWORD, clientSaltSeed: seed } });
    expect(errorCode(response)).toBe('EMAIL_TAKEN');
  });

  it('when the document does not parse, then GRAPHQL_PARSE_FAILED with HTTP 400', async () => {
    const response = await server.gql('{ walletState { sequence ', {}, device.token);
    expect(response.status).toBe(400);
    expect(errorCode(response)).toBe('GRAPHQL_PARSE_FAILED');
  });

  it.each([
    ['an unknown field', '{ walletState { sequence color } }'],
    ['an unknown input field in a literal', 'mutation { updateWalletState(input: {encryptedWallet: "e", sequence: 1, hmac: "h", extra: 1}) { __typename } }'],
    ['a missing selection on a union', 'mutation { updateWalletState(input: {encryptedWallet: "e", sequence: 1, hmac: "h"}) }'],
  ])('when the document has %s, then GRAPHQL_VALIDATION_FAILED with HTTP 400', async (_name, query) => {
    const response = await server.gql(query, {}, device.token);
    expect(response.status).toBe(400);
    expect(errorCode(response)).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('Whitelist mode with a small wallet limit', () => {
  let server: TestServer;
  const allowed = uniqueEmail('allowed');

  beforeAll(async () => {
    server = await startTestServer({ ACCOUNT_VERIFICATION_MODE: 'Whitelist', ACCOUNT_WHITELIST: `${allowed},other@example.com`, MAX_WALLET_BYTES: '100' });
  });
  afterAll(() => server.close());

  it('when an email outside the whitelist registers, then REGISTRATION_CLOSED', async () => {
    const response = await server.gql(RegisterDocument, { input: { email: uniqueEmail('outsider'), password: PASSWORD, clientSaltSeed: newSeed() } });
    expect(errorCode(response)).toBe('REGISTRATION_CLOSED');
  });

  it('when a whitelisted email registers (any letter case), then it is verified at once; a second time, EMAIL_TAKEN', async () => {
    const first = await server.gql(RegisterDocument, { input: { email: allowed.toUpperCase(), password: PASSWORD, clientSaltSeed: newSeed() } });
    expect(first.body.data).toEqual({ register: { verified: true } });
    const second = await server.gql(RegisterDocument, { input: { email: allowed, password: PASSWORD, clientSaltSeed: newSeed() } });
    expect(errorCode(second)).toBe('EMAIL_TAKEN');
  });

  it('when encryptedWallet is over MAX_WALLET_BYTES in UTF-8 bytes, then PAYLOAD_TOO_LARGE and nothing is written', async () => {
    const response = await server.gql(LoginDocument, { input: { email: allowed, password: PASSWORD, deviceId: 'd' } });
    const token = response.body.data!.login.token;
    const device = { email: allowed, password: PASSWORD, deviceId: 'd', token };
    expect((await upload(server, device, 1, 'x'.repeat(100))).__typename).toBe('WalletStateSuccess');
    // 34 characters, 102 bytes: the limit counts bytes.
    const tooLarge = await server.gql(UpdateWalletStateDocument, { input: { encryptedWallet: '€'.repeat(34), sequence: 2, hmac: 'h' } }, token);
    expect(errorCode(tooLarge)).toBe('PAYLOAD_TOO_LARGE');
    expect(tooLarge.body.errors![0].extensions!.maxWalletBytes).toBe(100);
    const stored = await server.gql(WalletStateDocument, {}, token);
    expect(stored.body.data!.walletState).toMatchObject({ sequence: 1, encryptedWallet: 'x'.repeat(100) });
  });

  it('when serverInfo is asked, then it tells the mode and the limit', async () => {
    const response = await server.gql('{ serverInfo { apiVersion accountVerificationMode maxWalletBytes } }');
    expect(response.body.data!.serverInfo).toEqual({ apiVersion: '3', accountVerificationMode: 'WHITELIST', maxWalletBytes: 100 });
  });
});

describe('unexpected failures', () => {
  class BrokenWalletRepository extends WalletRepository {
    override async find(): Promise<never> {
      throw new Error('SQLITE_ERROR: no such table: wallets (SELECT * FROM wallets) at /srv/app/src/db/x.ts:12');
    }
    override findWithToken(): Promise<never> {
      return this.find();
    }
  }
  const server = useTestServer({}, { repositories: { wallets: new BrokenWalletRepository() } });

  it('when the database fails inside a resolver, then INTERNAL_SERVER_ERROR with no SQL, stack or path', async () => {
    const { email, password } = await register(server);
    const login = await server.gql(LoginDocument, { input: { email, password, deviceId: 'd' } });
    const response = await server.gql(WalletStateDocument, {}, login.body.data!.login.token);
    expect(errorCode(response)).toBe('INTERNAL_SERVER_ERROR');
    const text = JSON.stringify(response.body);
    expect(response.body.errors![0].message).toBe('Internal server error');
    for (const leak of ['SQLITE', 'SELECT', 'wallets', 'stacktrace', '/srv/app', '.ts:']) expect(text).not.toContain(leak);
  });
});
