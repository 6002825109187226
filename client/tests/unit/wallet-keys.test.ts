import { clientSalt, deriveWalletKeys, newClientSaltSeed, walletStateHmac } from '../../src/wallet-keys';

/** The test vectors of PROTOCOL.md "Keys" (computed with Python's hashlib.scrypt). */
const EMAIL = 'joe2@example.com';
const ROOT_PASSWORD = '123abc2';
// 63 hex characters as printed in PROTOCOL.md: the derivation hashes the seed string as given.
const SEED = '0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff';
const WALLET = 'czo4MTkyOjE2OjE6abc';

const VECTORS = {
  fast: {
    loginPassword: 'w/MTRV/o3pAYF6uPCGMRZS7zzu5Sr0jyv/9ui8+zlLE=',
    hmacKey: '381d6bb5db0db1a0bb159f8515f381b66dcfee44b39dbb66594a8bffcead02af',
    walletKey: '7698dd3ec2fd922e1ebcf8617c39ef6c4a334f483460af4e40dc25cf26f3b02b',
    hmac: 'c1606263b2af06762c8a7206129c9226f7c986ca3aa96ea31242df0720bfda4a',
  },
  production: {
    loginPassword: 'rpVk9KnlE/p0ooLZ0SzfCwGYykAmgbg6myd4YvhG4eA=',
    hmacKey: '7b383dab31cec6d6e2f65b46cf672c4a88af06c7b07cd69ab1d3f6ccd511a8ed',
    walletKey: '44ba78465c518d7a430fc01a664ef831cfb29d5fa52430034b48e9ddd12c038b',
    hmac: '7a4ecfed8d7bbb2fa7c08f0e7f14b0f0a8354002034f0c3fb356f7177809eba7',
  },
};

async function expectVector(vector: keyof typeof VECTORS, cost: number) {
  const keys = await deriveWalletKeys(ROOT_PASSWORD, EMAIL, SEED, cost);
  const expected = VECTORS[vector];
  expect(keys.loginPassword).toBe(expected.loginPassword);
  expect(keys.hmacKey.toString('hex')).toBe(expected.hmacKey);
  expect(keys.walletKey.toString('hex')).toBe(expected.walletKey);
  expect(walletStateHmac(keys.hmacKey, 3, WALLET)).toBe(expected.hmac);
}

describe('key derivation (PROTOCOL.md "Keys")', () => {
  it('when the email and seed are the vector\'s, then the salt is the vector\'s', () => {
    expect(clientSalt(EMAIL, SEED)).toBe('1a2e28c675527ccfb328a68431db446d');
  });

  it('when N=2^14, then login password, HMAC key, wallet key and hmac match the vector', async () => {
    await expectVector('fast', 2 ** 14);
  });

  // The one production-cost test: 1 GiB and a few seconds.
  it('when N=2^20 (production), then login password, HMAC key, wallet key and hmac match the vector', async () => {
    await expectVector('production', 2 ** 20);
  }, 60_000);

  it.each<[string, { rootPassword?: string; email?: string; seed?: string }]>([
    ['root password', { rootPassword: '123abc3' }],
    ['email', { email: 'joe3@example.com' }],
    ['seed', { seed: SEED.replace(/^0f/, '0e') }],
  ])('when the %s differs, then every key differs', async (_what, change) => {
    const same = await deriveWalletKeys(ROOT_PASSWORD, EMAIL, SEED, 2 ** 10);
    const other = await deriveWalletKeys(change.rootPassword ?? ROOT_PASSWORD, change.email ?? EMAIL, change.seed ?? SEED, 2 ** 10);
    expect(other.loginPassword).not.toBe(same.loginPassword);
    expect(other.hmacKey.equals(same.hmacKey)).toBe(false);
    expect(other.walletKey.equals(same.walletKey)).toBe(false);
  });

  it.each([0, 1, 3, 1000, 2 ** 25])('when the scrypt cost is %p, then derivation refuses it', async (cost) => {
    await expect(deriveWalletKeys(ROOT_PASSWORD, EMAIL, SEED, cost)).rejects.toThrow(RangeError);
  });

  it('when a device makes a seed, then it is 64 lower-case hex characters and fresh each time', () => {
    const seeds = new Set(Array.from({ length: 20 }, () => newClientSaltSeed()));
    expect(seeds.size).toBe(20);
    for (const seed of seeds) expect(seed).toMatch(/^[0-9a-f]{64}$/);
  });
});
