import { randomBytes } from 'node:crypto';
import { ClientErrorCode } from '../../src/client.errors';
import { WALLET_FORMAT_PREFIX, decryptWallet, encryptWallet, openWalletState, salvageWalletState, sealWalletState } from '../../src/wallet-cipher';
import { walletStateHmac } from '../../src/wallet-keys';
import type { WalletDocument } from '../../src/wallet-document';

const keys = { hmacKey: randomBytes(32), walletKey: randomBytes(32) };
const document: WalletDocument = {
  preferences: {
    animal: { value: 'beaver', updatedAt: 1_700_000_000_000, deviceId: 'test_wallet_2' },
    car: { value: null, updatedAt: 1_700_000_000_001, deviceId: 'test_wallet_1' },
    // A key an attacker-controlled name could take: it must stay a key, not become a prototype.
    ['__proto__']: { value: 'still just a key', updatedAt: 1, deviceId: 'x' },
  },
};

/** Flips one bit of the sealed bytes at `offset` (negative: from the end) and re-encodes. */
function flipBit(encryptedWallet: string, offset: number): string {
  const sealed = Buffer.from(encryptedWallet.slice(WALLET_FORMAT_PREFIX.length), 'base64');
  sealed[offset < 0 ? sealed.length + offset : offset] ^= 0x01;
  return WALLET_FORMAT_PREFIX + sealed.toString('base64');
}

describe('the wallet encryption (format v1: AES-256-GCM)', () => {
  it('when a document is sealed and opened with the same keys, then it comes back whole', async () => {
    const sealed = await sealWalletState(document, 4, keys);
    expect(sealed.sequence).toBe(4);
    expect(sealed.encryptedWallet.startsWith('v1:')).toBe(true);
    expect(sealed.hmac).toBe(await walletStateHmac(keys.hmacKey, 4, sealed.encryptedWallet));
    const opened = await openWalletState(sealed, keys);
    expect(opened).toEqual(document);
    expect(Object.getPrototypeOf(opened.preferences)).toBe(Object.prototype);
    expect(Object.keys(opened.preferences)).toContain('__proto__');
  });

  it('when the same document is encrypted twice, then the nonces (and so the ciphertexts) differ', async () => {
    const first = Buffer.from((await encryptWallet(document, keys.walletKey)).slice(3), 'base64');
    const second = Buffer.from((await encryptWallet(document, keys.walletKey)).slice(3), 'base64');
    expect(first.subarray(0, 12).equals(second.subarray(0, 12))).toBe(false);
    expect(first.equals(second)).toBe(false);
  });

  it.each([
    ['the nonce', 0],
    ['the ciphertext', 14],
    ['the tag', -1],
  ])('when a bit of %s is flipped, then decryption fails as WALLET_DECRYPT_FAILED', async (_part, offset) => {
    const encryptedWallet = await encryptWallet(document, keys.walletKey);
    await expect(decryptWallet(flipBit(encryptedWallet, offset), keys.walletKey)).rejects.toMatchObject({ code: ClientErrorCode.DecryptFailed });
  });

  it.each([
    ['the ciphertext', (s: { encryptedWallet: string; hmac: string; sequence: number }) => ({ ...s, encryptedWallet: flipBit(s.encryptedWallet, 14) })],
    ['the nonce', (s: { encryptedWallet: string; hmac: string; sequence: number }) => ({ ...s, encryptedWallet: flipBit(s.encryptedWallet, 0) })],
    ['the hmac', (s: { encryptedWallet: string; hmac: string; sequence: number }) => ({ ...s, hmac: s.hmac.replace(/^./, (c) => (c === '0' ? '1' : '0')) })],
    ['the sequence (a replay at another sequence)', (s: { encryptedWallet: string; hmac: string; sequence: number }) => ({ ...s, sequence: s.sequence + 1 })],
    ['the hmac (to non-hex)', (s: { encryptedWallet: string; hmac: string; sequence: number }) => ({ ...s, hmac: 'beef' })],
  ])('when %s of a downloaded state is altered, then opening it fails as WALLET_HMAC_MISMATCH', async (_what, tamper) => {
    const sealed = await sealWalletState(document, 7, keys);
    await expect(openWalletState(tamper(sealed), keys)).rejects.toMatchObject({ code: ClientErrorCode.HmacMismatch });
  });

  it('when a state is signed with the right HMAC key but encrypted under another wallet key, then opening it fails as WALLET_DECRYPT_FAILED', async () => {
    const foreign = await encryptWallet(document, randomBytes(32));
    const state = { sequence: 2, encryptedWallet: foreign, hmac: await walletStateHmac(keys.hmacKey, 2, foreign) };
    await expect(openWalletState(state, keys)).rejects.toMatchObject({ code: ClientErrorCode.DecryptFailed });
  });

  it.each([
    ['an unknown format version', 'v2:AAAA', ClientErrorCode.UnsupportedFormat],
    ['the legacy SDK format', 'czo4MTkyOjE2OjE6abc', ClientErrorCode.UnsupportedFormat],
    ['a v1 wallet too short to hold a nonce and tag', 'v1:AAAA', ClientErrorCode.DecryptFailed],
  ])('when the wallet has %s, then decryption fails with a clear code', async (_what, encryptedWallet, code) => {
    await expect(decryptWallet(encryptedWallet, keys.walletKey)).rejects.toMatchObject({ code });
  });

  /** A document as a buggy or foreign app might write it: encrypted and signed with the right keys. */
  const sealedRaw = (plaintext: unknown, sequence = 3) => sealWalletState(plaintext as WalletDocument, sequence, keys);

  it.each<[string, unknown, string | undefined]>([
    ['a preference value that is an object', { format: 1, preferences: { theme: { value: { dark: true }, updatedAt: 1, deviceId: 'd' } } }, 'theme'],
    ['a preference value that is a number', { format: 1, preferences: { zoom: { value: 2, updatedAt: 1, deviceId: 'd' } } }, 'zoom'],
    ['an entry without updatedAt', { format: 1, preferences: { car: { value: 'Audi', deviceId: 'd' } } }, 'car'],
    ['an empty key', { format: 1, preferences: { '': { value: 'x', updatedAt: 1, deviceId: 'd' } } }, ''],
    ['no preferences object', { format: 1, preferences: [] }, undefined],
  ])('when the decrypted document has %s, then opening it fails as WALLET_DOCUMENT_INVALID naming the key', async (_what, plaintext, key) => {
    const failure = await openWalletState(await sealedRaw(plaintext), keys).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ code: ClientErrorCode.DocumentInvalid, key });
    if (key) expect((failure as Error).message).toContain(JSON.stringify(key));
  });

  it('when a document has malformed preferences, then salvaging keeps the well-formed ones and lists the others', async () => {
    const state = await sealedRaw({
      format: 1,
      preferences: {
        animal: { value: 'beaver', updatedAt: 1, deviceId: 'd' },
        theme: { value: { dark: true }, updatedAt: 2, deviceId: 'd' },
        car: { value: null, updatedAt: 3, deviceId: 'd' },
      },
    });
    await expect(salvageWalletState(state, keys)).resolves.toEqual({
      document: { preferences: { animal: { value: 'beaver', updatedAt: 1, deviceId: 'd' }, car: { value: null, updatedAt: 3, deviceId: 'd' } } },
      malformed: ['theme'],
    });
  });

  it('when a salvaged state has a bad hmac, then it is still refused as WALLET_HMAC_MISMATCH', async () => {
    const state = await sealedRaw({ format: 1, preferences: {} });
    await expect(salvageWalletState({ ...state, sequence: 4 }, keys)).rejects.toMatchObject({ code: ClientErrorCode.HmacMismatch });
  });
});
