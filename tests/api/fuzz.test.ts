import fc from 'fast-check';
import { startTestServer, type TestServer } from '../helpers/app';
import { unchecked, type Operation } from '../../test-support/graphql-http';
import { registerAndLogin, upload, type Device } from '../../test-support/operations';
import { ChangePasswordDocument, LoginDocument, RegisterDocument, SeedDocument, UpdateWalletStateDocument, WalletStateDocument } from '../../test-support/operations.generated';

/**
 * Arbitrary values thrown at every operation's variables: strings of any
 * alphabet, numbers, nulls, huge and deeply nested values, objects with the
 * right field names holding the wrong things. The server must answer each with
 * a client error, never a 5xx or INTERNAL_SERVER_ERROR, and never touch the
 * wallet unless it answers that the upload landed.
 */
const deep = (depth: number): unknown => (depth === 0 ? 'bottom' : { nested: deep(depth - 1) });
const scalar = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => Number(n)),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('', ' ', '\u0000', 'a'.repeat(70_000), '€'.repeat(400_000), '𝕏'.repeat(1025), 'joe@example.com', '1'.repeat(64)),
);
const anything = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 10 }), scalar, { maxKeys: 5 }) },
  { weight: 1, arbitrary: fc.integer({ min: 50, max: 3000 }).map(deep) },
);
const shaped = (fields: string[]) =>
  fc.oneof(anything, fc.record(Object.fromEntries(fields.map((f) => [f, anything])), { requiredKeys: [] }));

const OPERATIONS: Array<[string, Operation<unknown, Record<string, unknown>>, Record<string, fc.Arbitrary<unknown>>, boolean]> = [
  ['register', unchecked(RegisterDocument), { input: shaped(['email', 'password', 'clientSaltSeed', 'keyParams']) }, false],
  ['login', unchecked(LoginDocument), { input: shaped(['email', 'password', 'deviceId', 'verificationCode']) }, false],
  ['updateWalletState', unchecked(UpdateWalletStateDocument), { input: shaped(['encryptedWallet', 'sequence', 'hmac']) }, true],
  ['changePassword', unchecked(ChangePasswordDocument), { input: shaped(['email', 'oldPassword', 'newPassword', 'clientSaltSeed', 'wallet']) }, false],
  ['clientSaltSeed', unchecked(SeedDocument), { email: anything }, false],
  ['resendVerificationEmail', 'mutation($e: String!) { resendVerificationEmail(email: $e) }', { e: anything }, false],
  ['revokeDevice', 'mutation($d: String!) { revokeDevice(deviceId: $d) }', { d: anything }, true],
  ['deleteAccount', 'mutation($p: String!) { deleteAccount(password: $p) }', { p: anything }, true],
];

describe('arbitrary input', () => {
  let server: TestServer;
  let device: Device;

  beforeAll(async () => {
    server = await startTestServer();
    device = await registerAndLogin(server, 'fuzz-device');
    await upload(server, device, 1, 'the-wallet', 'the-hmac');
  });
  afterAll(() => server.close());

  const walletNow = async () => (await server.gql(WalletStateDocument, {}, device.token)).body.data!.walletState;

  it.each(OPERATIONS)('when %s gets arbitrary variables, then never a 5xx, never INTERNAL_SERVER_ERROR, never a silently changed wallet', async (name, query, variables, withToken) => {
    await fc.assert(
      fc.asyncProperty(fc.record(variables), async (values) => {
        const before = await walletNow();
        const response = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(withToken ? { authorization: `Bearer ${device.token}` } : {}) },
          body: JSON.stringify({ query, variables: values }),
        });
        expect(response.status).toBeLessThan(500);
        const body = (await response.json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> };
        for (const error of body.errors ?? []) expect(error.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
        const after = await walletNow();
        const landed = name === 'updateWalletState' && body.data?.updateWalletState?.__typename === 'WalletStateSuccess';
        if (landed) expect(after).toMatchObject(body.data.updateWalletState.walletState);
        else expect(after).toEqual(before);
      }),
      { numRuns: 40 },
    );
  });

  it('when the body or the document itself is arbitrary, then never a 5xx and never INTERNAL_SERVER_ERROR', async () => {
    const document = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.constantFrom('{', '{ walletState { sequence } ', 'query { __typename }', `{ ${'a: __typename '.repeat(50)}}`, `{ me ${'{ devices '.repeat(30)}`),
    );
    const body = fc.oneof(
      document.map((query) => JSON.stringify({ query })),
      anything.map((value) => JSON.stringify(value)),
      fc.record({ query: anything, variables: anything, operationName: anything }).map((value) => JSON.stringify(value)),
      fc.string({ unit: 'binary' }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const before = await walletNow();
        const response = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${device.token}` },
          body: payload,
        });
        expect(response.status).toBeLessThan(500);
        const text = await response.text();
        expect(text).not.toContain('INTERNAL_SERVER_ERROR');
        expect(await walletNow()).toEqual(before);
      }),
      { numRuns: 150 },
    );
  });
});
