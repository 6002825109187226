import { nodeScrypt } from '../../src/node/node-platform';
import { portableScrypt, type ScryptFunction } from '../../src/platform';
import { DEFAULT_KEY_PARAMS, clientSalt, deriveWalletKeys, keyParamsOf, newClientSaltSeed, walletStateHmac, type KeyParams } from '../../src/wallet-keys';

/** The test vectors of the protocol's "Keys" section (Node's crypto.scrypt, equal to Python's hashlib.scrypt). */
const EMAIL = 'Joe2@Example.com';
const ROOT_PASSWORD = '123abc2';
const SEED = '0f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff';
const WALLET = 'czo4MTkyOjE2OjE6abc';

const VECTORS = {
  fast: {
    loginPassword: 'rtQzgDidI1IaIFMYVk8PGBAYyN6Fz8bB52fxBfpgIxs=',
    hmacKey: '42555d0d685036aea8f02849192375c717cf71d5e194d89a478a472777dfa1a3',
    walletKey: '6846a660ec0cd906826e67612fff016c4596b953d649b1bd0184393ad170e4b2',
    hmac: '24f144f3ea78be51a7b84132285e7b41ba1435c519d02d8519dcd6d1cfd2db78',
  },
  default: {
    loginPassword: '/JWs3s0B6qfJ2mPfvcXBl2sn2m4d6pq5dhvDwscADS0=',
    hmacKey: '8b2f129a8a67ad0f3aff7a6c7ba2b90c3ed57fc33704bf81cb1d71f901d39c33',
    walletKey: 'f1a967b3cd67b2f6ab9692c714ce7c0a612a40c3479b86b56364879840cd5d41',
    hmac: '3abb675aabdb2a0c77ed2d58c99cf8c714c32dcfcbbf4bc78b94dfd16812bc56',
  },
  production: {
    loginPassword: 'tARu6CWihA14++1e9Lj5jpJGXvwmR/CVF/qL3q4Yyzg=',
    hmacKey: '25d8a3ace17844687f263f28353db49d968608073cb1f1407d82b25478e4d5b4',
    walletKey: '54aa0d7b9f5a5a52c54df85bc0d634c4879579ba5e3da1cab22b8b61e416b919',
    hmac: 'f4f061383f32293420f1521aedd130dc158c74d4b7489a16c8f39cf8a3cd4a23',
  },
};

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

async function expectVector(vector: keyof typeof VECTORS, cost: number, scrypt: ScryptFunction) {
  const keys = await deriveWalletKeys(ROOT_PASSWORD, EMAIL, SEED, { n: cost, r: 8, p: 1 }, scrypt);
  const expected = VECTORS[vector];
  expect(keys.loginPassword).toBe(expected.loginPassword);
  expect(hex(keys.hmacKey)).toBe(expected.hmacKey);
  expect(hex(keys.walletKey)).toBe(expected.walletKey);
  await expect(walletStateHmac(keys.hmacKey, 3, WALLET)).resolves.toBe(expected.hmac);
}

describe('key derivation (PROTOCOL.md "Keys")', () => {
  it('when the email and seed are the vector\'s, then the salt is the vector\'s (from the normalized email)', async () => {
    await expect(clientSalt(EMAIL, SEED)).resolves.toBe('54563b7d41776620c99f46c7b50f23cf');
  });

  it.each([
    ['lower case', 'joe2@example.com'],
    ['upper case', 'JOE2@EXAMPLE.COM'],
    ['decomposed accents (NFD) vs composed (NFC)', ['jo\u0065\u0301@x.org', 'jo\u00e9@x.org']],
  ])('when the email differs only by %s, then the salt is the same', async (_what, variant) => {
    const [a, b] = Array.isArray(variant) ? variant : [EMAIL, variant];
    expect(await clientSalt(a, SEED)).toBe(await clientSalt(b, SEED));
  });

  it('when the emails differ by an accent, then the salts differ (no folding)', async () => {
    expect(await clientSalt('jo\u00e9@x.org', SEED)).not.toBe(await clientSalt('joe@x.org', SEED));
  });

  it.each<[string, keyof typeof VECTORS, number, ScryptFunction]>([
    ['N=2^14 with the portable scrypt (@noble/hashes)', 'fast', 2 ** 14, portableScrypt],
    ['N=2^14 with Node\'s scrypt', 'fast', 2 ** 14, nodeScrypt],
    ['N=2^17 (the default) with Node\'s scrypt', 'default', 2 ** 17, nodeScrypt],
    // The one production-cost test: 1 GiB and a few seconds.
    ['N=2^20 (accounts before protocol 2) with Node\'s scrypt', 'production', 2 ** 20, nodeScrypt],
  ])('when %s, then login password, HMAC key, wallet key and hmac match the vector', async (_what, vector, cost, scrypt) => {
    await expectVector(vector, cost, scrypt);
  }, 60_000);

  it.each<[string, { rootPassword?: string; email?: string; seed?: string }]>([
    ['root password', { rootPassword: '123abc3' }],
    ['email', { email: 'Joe3@Example.com' }],
    ['seed', { seed: SEED.replace(/^0f/, '0e') }],
  ])('when the %s differs, then every key differs', async (_what, change) => {
    const cheap = { n: 2 ** 14, r: 1, p: 1 };
    const same = await deriveWalletKeys(ROOT_PASSWORD, EMAIL, SEED, cheap);
    const other = await deriveWalletKeys(change.rootPassword ?? ROOT_PASSWORD, change.email ?? EMAIL, change.seed ?? SEED, cheap);
    expect(other.loginPassword).not.toBe(same.loginPassword);
    expect(hex(other.hmacKey)).not.toBe(hex(same.hmacKey));
    expect(hex(other.walletKey)).not.toBe(hex(same.walletKey));
  });

  it('when r or p differ, then every key differs (they are part of the derivation, not only of the cost)', async () => {
    const base = await deriveWalletKeys(ROOT_PASSWORD, EMAIL, SEED, { n: 2 ** 14, r: 1, p: 1 });
    for (const params of [{ n: 2 ** 14, r: 2, p: 1 }, { n: 2 ** 14, r: 1, p: 2 }]) {
      expect((await deriveWalletKeys(ROOT_PASSWORD, EMAIL, SEED, params)).loginPassword).not.toBe(base.loginPassword);
    }
  });

  // PROTOCOL.md "Keys": N a power of two from 2^14 to 2^20, r 1 to 16, p 1 to 4.
  it.each<[string, Partial<KeyParams>, RegExp]>([
    ['N below 2^14', { n: 2 ** 13 }, /N must be a power of two from 2\^14/],
    ['N above 2^20', { n: 2 ** 21 }, /N must be a power of two/],
    ['N not a power of two', { n: 3 * 2 ** 14 }, /N must be a power of two/],
    ['N not an integer', { n: 16384.5 }, /N must be a power of two/],
    ['r of 0', { r: 0 }, /r must be an integer from 1 to 16/],
    ['r of 17', { r: 17 }, /r must be an integer from 1 to 16/],
    ['p of 0', { p: 0 }, /p must be an integer from 1 to 4/],
    ['p of 5', { p: 5 }, /p must be an integer from 1 to 4/],
    ['N as a string', { n: '16384' as unknown as number }, /N must be a power of two/],
    ['N=2^16 with r=1 (RFC 7914: N < 2^(16·r); OpenSSL refuses it)', { n: 2 ** 16, r: 1 }, /N must be below 2\^16 with r=1/],
    ['N=2^20, r=16, p=4 (2 GiB of memory)', { n: 2 ** 20, r: 16, p: 4 }, /needs 2 GiB of memory \(128·N·r\), above the 1 GiB bound/],
    ['N=2^20, r=9 (just over 1 GiB)', { n: 2 ** 20, r: 9 }, /needs 1\.125 GiB of memory/],
    ['N=2^20, r=8, p=2 (twice the largest documented work)', { n: 2 ** 20, r: 8, p: 2 }, /N·r·p = .* above the work bound 2\^23/],
    ['N=2^18, r=16, p=4 (512 MiB, twice the work)', { n: 2 ** 18, r: 16, p: 4 }, /above the work bound 2\^23/],
  ])('when the key parameters have %s, then derivation refuses them with INVALID_ARGUMENT before any scrypt', async (_what, params, message) => {
    const scrypt = jest.fn<ReturnType<ScryptFunction>, Parameters<ScryptFunction>>();
    await expect(deriveWalletKeys(ROOT_PASSWORD, EMAIL, SEED, { ...DEFAULT_KEY_PARAMS, ...params }, scrypt)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
    expect(scrypt).not.toHaveBeenCalled();
  });

  it.each<[string, KeyParams]>([
    ['the lowest', { n: 2 ** 14, r: 1, p: 1 }],
    ['the protocol default', { n: 2 ** 17, r: 8, p: 1 }],
    ['the largest documented (accounts before protocol 2), at the memory and work bounds', { n: 2 ** 20, r: 8, p: 1 }],
    ['the highest p within the work bound', { n: 2 ** 18, r: 8, p: 4 }],
    ['the highest r within the work bound', { n: 2 ** 19, r: 16, p: 1 }],
    ['the highest N with r=1', { n: 2 ** 15, r: 1, p: 1 }],
    ['the lowest r with N=2^20', { n: 2 ** 20, r: 2, p: 1 }],
  ])('when the key parameters are %s the bounds allow, then they are accepted', (_what, params) => {
    expect(keyParamsOf(params)).toEqual(params);
  });

  it('when only some key parameters are given, then the others are the protocol default N=2^17, r=8, p=1', () => {
    expect(DEFAULT_KEY_PARAMS).toEqual({ n: 2 ** 17, r: 8, p: 1 });
    expect(keyParamsOf({ n: 2 ** 20 })).toEqual({ n: 2 ** 20, r: 8, p: 1 });
    expect(keyParamsOf()).toEqual(DEFAULT_KEY_PARAMS);
  });

  it('when a device makes a seed, then it is 64 lower-case hex characters and fresh each time', () => {
    const seeds = new Set(Array.from({ length: 20 }, () => newClientSaltSeed()));
    expect(seeds.size).toBe(20);
    for (const seed of seeds) expect(seed).toMatch(/^[0-9a-f]{64}$/);
  });
});
