import { errorCode, unchecked } from '../../test-support/graphql-http';
import { useTestServer } from '../helpers/hooks';
import { testDialect } from '../../test-support/database';
import { PASSWORD, login, newSeed, register, uniqueEmail, upload } from '../../test-support/operations';
import { ChangePasswordDocument, ClientKeyParamsDocument, RegisterDocument, SeedDocument } from '../../test-support/operations.generated';

/** PROTOCOL.md, "Keys": the scrypt parameters belong to the account; the server stores and hands them out. */
const DEFAULTS = { algorithm: 'scrypt', n: 2 ** 17, r: 8, p: 1 };

describe(`key parameters per account (${testDialect()})`, () => {
  const server = useTestServer();

  const keyParams = async (email: string) => {
    const response = await server.gql(ClientKeyParamsDocument, { email });
    expect(response.body.errors).toBeUndefined();
    return response.body.data!.clientKeyParams;
  };
  const registerWith = (keyParams: unknown, email = uniqueEmail()) =>
    server.gql(unchecked(RegisterDocument), { input: { email, password: PASSWORD, clientSaltSeed: newSeed(), keyParams } });
  const changeWith = async (keyParams: unknown) => {
    const account = await register(server);
    return server.gql(unchecked(ChangePasswordDocument), { input: { email: account.email, oldPassword: PASSWORD, newPassword: 'a new password', clientSaltSeed: newSeed(), keyParams } });
  };

  it('when a registration omits keyParams, then the account carries the default N=2^17, r=8, p=1 with its seed', async () => {
    const account = await register(server);
    expect(await keyParams(account.email)).toEqual({ clientSaltSeed: account.clientSaltSeed, ...DEFAULTS });
  });

  it('when a registration gives keyParams, then clientKeyParams answers them, whatever case the email is typed in', async () => {
    const email = uniqueEmail();
    expect((await registerWith({ n: 2 ** 14, r: 16, p: 4 }, email)).body.errors).toBeUndefined();
    expect(await keyParams(email.toUpperCase())).toMatchObject({ algorithm: 'scrypt', n: 2 ** 14, r: 16, p: 4 });
  });

  it('when an email has no account, then clientKeyParams answers its stable decoy seed (the one clientSaltSeed answers) with the defaults', async () => {
    const email = uniqueEmail('ghost');
    const first = await keyParams(email);
    expect(first).toEqual({ clientSaltSeed: expect.stringMatching(/^[0-9a-f]{64}$/), ...DEFAULTS });
    expect(await keyParams(email)).toEqual(first);
    expect((await server.gql(SeedDocument, { email })).body.data!.clientSaltSeed).toBe(first.clientSaltSeed);
  });

  it('when changePassword gives keyParams, then they replace the old ones with the new seed; when it omits them, they stay', async () => {
    const account = await register(server, uniqueEmail(), PASSWORD);
    const device = await login(server, account.email, PASSWORD, 'd');
    await upload(server, device, 1);
    const seed = newSeed();
    const changed = await server.gql(ChangePasswordDocument, {
      input: {
        email: account.email,
        oldPassword: PASSWORD,
        newPassword: 'a new password',
        clientSaltSeed: seed,
        keyParams: { n: 2 ** 15, r: 8, p: 2 },
        wallet: { encryptedWallet: 'w2', sequence: 2, hmac: 'h2' },
      },
    });
    expect(changed.body.data!.changePassword.__typename).toBe('ChangePasswordSuccess');
    expect(await keyParams(account.email)).toEqual({ clientSaltSeed: seed, algorithm: 'scrypt', n: 2 ** 15, r: 8, p: 2 });

    const again = newSeed();
    const unchanged = await server.gql(ChangePasswordDocument, {
      input: { email: account.email, oldPassword: 'a new password', newPassword: 'another password', clientSaltSeed: again, wallet: { encryptedWallet: 'w3', sequence: 3, hmac: 'h3' } },
    });
    expect(unchanged.body.data!.changePassword.__typename).toBe('ChangePasswordSuccess');
    expect(await keyParams(account.email)).toEqual({ clientSaltSeed: again, algorithm: 'scrypt', n: 2 ** 15, r: 8, p: 2 });
  });

  it('when a changePassword with keyParams conflicts, then the parameters stay as they were', async () => {
    const account = await register(server);
    const device = await login(server, account.email, PASSWORD, 'd');
    await upload(server, device, 1);
    const conflict = await server.gql(ChangePasswordDocument, {
      input: { email: account.email, oldPassword: PASSWORD, newPassword: 'a new password', clientSaltSeed: newSeed(), keyParams: { n: 2 ** 14, r: 1, p: 1 } },
    });
    expect(conflict.body.data!.changePassword.__typename).toBe('WalletStateConflict');
    expect(await keyParams(account.email)).toEqual({ clientSaltSeed: account.clientSaltSeed, ...DEFAULTS });
  });

  const OUT_OF_BOUNDS: Array<[string, Record<string, number>, string]> = [
    ['N below 2^14', { n: 2 ** 13, r: 8, p: 1 }, 'keyParams.n'],
    ['N above 2^20', { n: 2 ** 21, r: 8, p: 1 }, 'keyParams.n'],
    ['N not a power of two', { n: 3 * 2 ** 14, r: 8, p: 1 }, 'keyParams.n'],
    ['N zero', { n: 0, r: 8, p: 1 }, 'keyParams.n'],
    ['r zero', { n: 2 ** 14, r: 0, p: 1 }, 'keyParams.r'],
    ['r above 16', { n: 2 ** 14, r: 17, p: 1 }, 'keyParams.r'],
    ['r=1 with N=2^16 (scrypt needs N < 2^(16·r))', { n: 2 ** 16, r: 1, p: 1 }, 'keyParams.r'],
    ['r=1 with N=2^20', { n: 2 ** 20, r: 1, p: 1 }, 'keyParams.r'],
    ['p zero', { n: 2 ** 14, r: 8, p: 0 }, 'keyParams.p'],
    ['p above 4', { n: 2 ** 14, r: 8, p: 5 }, 'keyParams.p'],
    // Issue 25, item 7: each within its own bounds, together over 1 GiB of memory (128·N·r) or over the work bound (N·r·p ≤ 2^23).
    ['N=2^20 with r=16 (2 GiB of memory)', { n: 2 ** 20, r: 16, p: 1 }, 'keyParams.r'],
    ['N=2^19 with r=16 (1 GiB, but p=4: four times the largest documented work)', { n: 2 ** 19, r: 16, p: 4 }, 'keyParams.p'],
    ['N=2^20, r=8, p=2 (twice the work of the accounts from before protocol 2)', { n: 2 ** 20, r: 8, p: 2 }, 'keyParams.p'],
    ['N=2^20, r=16, p=4 (the issue\'s 2 GiB example)', { n: 2 ** 20, r: 16, p: 4 }, 'keyParams.r'],
  ];

  it.each(OUT_OF_BOUNDS)('when register carries %s, then BAD_USER_INPUT naming the field and no account', async (_case, params, field) => {
    const email = uniqueEmail();
    const response = await registerWith(params, email);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0].message).toMatch(new RegExp(`^${field}: must be`));
    expect(await keyParams(email)).toMatchObject(DEFAULTS);
    expect(errorCode(await registerWith(undefined, email))).toBeUndefined();
  });

  it.each(OUT_OF_BOUNDS)('when changePassword carries %s, then BAD_USER_INPUT naming the field', async (_case, params, field) => {
    const response = await changeWith(params);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0].message).toMatch(new RegExp(`^${field}: must be`));
  });

  it('when the bounds themselves are given (the defaults, the accounts from before protocol 2: 1 GiB and the largest work), then they are accepted', async () => {
    const atTheBounds = [
      { n: 2 ** 14, r: 1, p: 1 },
      { n: 2 ** 15, r: 1, p: 1 },
      { n: 2 ** 16, r: 2, p: 1 },
      { n: 2 ** 17, r: 8, p: 1 },
      { n: 2 ** 20, r: 8, p: 1 },
      { n: 2 ** 19, r: 16, p: 1 },
      { n: 2 ** 17, r: 16, p: 4 },
      { n: 2 ** 14, r: 16, p: 4 },
    ];
    for (const params of atTheBounds) {
      expect(errorCode(await registerWith(params))).toBeUndefined();
    }
  });

  it('when serverInfo is asked, then the API version is "2"', async () => {
    expect((await server.gql('{ serverInfo { apiVersion } }')).body.data!.serverInfo.apiVersion).toBe('3');
  });
});

describe(`key parameters below the API: AccountService on the real database (${testDialect()})`, () => {
  const server = useTestServer();

  it('when the service registers with and without parameters, then clientKeyParams reads back exactly what was stored', async () => {
    const accounts = server.app.services.accounts;
    const given = uniqueEmail();
    const omitted = uniqueEmail();
    await accounts.register({ email: given, password: PASSWORD, clientSaltSeed: 'AB'.repeat(32), keyParams: { n: 2 ** 16, r: 2, p: 3 } }, '127.0.0.1');
    await accounts.register({ email: omitted, password: PASSWORD, clientSaltSeed: 'cd'.repeat(32) }, '127.0.0.1');
    expect(await accounts.clientKeyParams(given, '127.0.0.1')).toEqual({ clientSaltSeed: 'ab'.repeat(32), algorithm: 'scrypt', n: 2 ** 16, r: 2, p: 3 });
    expect(await accounts.clientKeyParams(omitted, '127.0.0.1')).toEqual({ clientSaltSeed: 'cd'.repeat(32), ...DEFAULTS });
  });
});
