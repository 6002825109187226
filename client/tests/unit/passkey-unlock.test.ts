import { ClientErrorCode } from '../../src/client.errors';
import { fromHex, toHex } from '../../src/encoding';
import { passkeyPrfSalt, passkeyWrapKey, unwrapKeys, wrapKeys } from '../../src/passkey-unlock';

/** PROTOCOL.md's vectors for the passkey wrap (also in docs/api.md "Passkeys"). */
const bytes = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
const PRF_OUTPUT = bytes(0x01, 0x20);
const KEYS = { hmacKey: bytes(0xa0, 0xbf), walletKey: bytes(0xc0, 0xdf) };
const IV = bytes(0xf0, 0xfb);
const WRAPPED = '8PHy8/T19vf4+fr7MmeiyLFXYIa6c3Yli7iDgf0vC3rh8sa1kDuSkEFqNBdyhqqP3cnIBxGlcEs+R8zEvsX5Jw5QNEunKqMzYyo31EzLt4JvoxfB0Ev+/8QF+ck=';

describe('the passkey wrap', () => {
  it('when computed from the protocol vectors, then the PRF salt, wrapKey and wrappedKeys are the documented ones', async () => {
    expect(toHex(await passkeyPrfSalt())).toBe('9ae36f00c6e824a3eea08fff9036202fd9a4589edd0eb536c1f6a9f06c862b58');
    expect(toHex(await passkeyWrapKey(PRF_OUTPUT))).toBe('d460c2a84b7f34a6dcdef034c9f5db9ff4b55010510536fbd6feba78b7217c70');
    expect(await wrapKeys(PRF_OUTPUT, KEYS, IV)).toBe(WRAPPED);
  });

  it('when unwrapped with the same PRF output, then the keys come back; a fresh wrap has a fresh iv', async () => {
    const opened = await unwrapKeys(PRF_OUTPUT, WRAPPED);
    expect([toHex(opened.hmacKey), toHex(opened.walletKey)]).toEqual([toHex(KEYS.hmacKey), toHex(KEYS.walletKey)]);
    const [a, b] = [await wrapKeys(PRF_OUTPUT, KEYS), await wrapKeys(PRF_OUTPUT, KEYS)];
    expect(a).not.toBe(b);
    expect(a).toHaveLength(124);
    expect(toHex((await unwrapKeys(PRF_OUTPUT, b)).walletKey)).toBe(toHex(KEYS.walletKey));
  });

  it.each([
    ['another PRF output', fromHex('ff'.repeat(32)), WRAPPED],
    ['a tampered blob', PRF_OUTPUT, `${WRAPPED.slice(0, 40)}A${WRAPPED.slice(41)}`],
    ['a blob of the wrong length', PRF_OUTPUT, WRAPPED.slice(0, 120)],
  ])('when unwrapped with %s, then PASSKEY_UNLOCK_FAILED', async (_what, prf, wrapped) => {
    await expect(unwrapKeys(prf, wrapped)).rejects.toMatchObject({ code: ClientErrorCode.PasskeyUnlockFailed });
  });
});
