import { Secret, TOTP } from 'otpauth';
import { RECOVERY_CODE_PATTERN, RecoveryCodeHasher, newRecoveryCodes } from '../../src/lib/recovery-codes';
import { SecretBox } from '../../src/lib/secret-box';
import { TOTP_CODE_PATTERN, matchingTotpStep, newTotpSecret, totpCode, totpUri } from '../../src/lib/totp';

/** RFC 6238 appendix B, SHA-1 rows: the seed is the ASCII "12345678901234567890", 8 digits, 30 s steps. */
const RFC6238_SHA1: Array<[seconds: number, code: string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];
const RFC_SECRET = Secret.fromUTF8('12345678901234567890').base32;

describe('TOTP (otpauth) against RFC 6238', () => {
  it.each(RFC6238_SHA1)('when the time is %i s, then the library gives the RFC vector %s at 8 digits', (seconds, code) => {
    const otp = new TOTP({ secret: Secret.fromBase32(RFC_SECRET), algorithm: 'SHA1', digits: 8, period: 30 });
    expect(otp.generate({ timestamp: seconds * 1000 })).toBe(code);
  });

  it.each(RFC6238_SHA1)('when the time is %i s, then our 6-digit code is the vector %s truncated (mod 10^6) and is accepted', (seconds, code) => {
    const at = new Date(seconds * 1000);
    expect(totpCode(RFC_SECRET, at)).toBe(code.slice(2));
    expect(matchingTotpStep(RFC_SECRET, code.slice(2), at)).toBe(Math.floor(seconds / 30));
  });

  it.each([
    ['the step before', -30_000, true],
    ['the step after', 30_000, true],
    ['two steps before', -60_000, false],
    ['two steps after', 60_000, false],
  ])('when the code is of %s, then it is accepted only within one step of drift', (_name, offsetMs, accepted) => {
    const now = new Date('2026-01-01T00:00:15.000Z');
    const code = totpCode(RFC_SECRET, new Date(now.getTime() + offsetMs));
    const step = Math.floor(now.getTime() / 30_000);
    expect(matchingTotpStep(RFC_SECRET, code, now)).toBe(accepted ? step + offsetMs / 30_000 : null);
  });

  it.each(['12345', '1234567', '12 345', 'abcdef', '１２３４５６'])('when the code is %j, then it matches no step', (code) => {
    expect(TOTP_CODE_PATTERN.test(code)).toBe(false);
    expect(matchingTotpStep(RFC_SECRET, code, new Date())).toBeNull();
  });

  it('when a secret is made, then it is 160 bits of base32 without padding, and the URI names issuer, account and parameters', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(secret);
    const uri = new URL(totpUri(secret, 'Wallet Sync', 'joe@example.com'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Wallet Sync:joe@example.com');
    expect(Object.fromEntries(uri.searchParams)).toEqual({ secret, issuer: 'Wallet Sync', algorithm: 'SHA1', digits: '6', period: '30' });
  });
});

describe('SecretBox (AES-256-GCM under a key derived from SERVER_SECRET)', () => {
  const box = new SecretBox('s'.repeat(40), 'totp secret');

  it('when a value is sealed, then it opens for its owner, and two seals of it differ (fresh IV)', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP', '7');
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(box.open(sealed, '7')).toBe('JBSWY3DPEHPK3PXP');
    expect(box.seal('JBSWY3DPEHPK3PXP', '7')).not.toBe(sealed);
  });

  it.each([
    ['another owner', () => box.open(box.seal('x', '7'), '8')],
    ['another SERVER_SECRET', () => new SecretBox('t'.repeat(40), 'totp secret').open(box.seal('x', '7'), '7')],
    ['another purpose', () => new SecretBox('s'.repeat(40), 'other').open(box.seal('x', '7'), '7')],
    ['a flipped bit', () => {
      const bytes = Buffer.from(box.seal('x', '7'), 'base64');
      bytes[13] ^= 1;
      return box.open(bytes.toString('base64'), '7');
    }],
    ['a truncated value', () => box.open('AAAA', '7')],
  ])('when opened with %s, then it refuses', (_name, open) => {
    expect(open).toThrow();
  });
});

describe('recovery codes', () => {
  const hasher = new RecoveryCodeHasher('s'.repeat(40));

  it('when made, then there are 10 distinct codes of 10 Crockford base32 characters shown 5-5', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
  });

  it('when a code is spelt in any case, with or without the hyphen, then it hashes the same; another account hashes it differently', () => {
    const hash = hasher.hash(7, 'ABCDE-FGHJK');
    for (const spelling of ['abcde-fghjk', 'ABCDEFGHJK', 'AbCdEfGhJk']) expect(hasher.hash(7, spelling)).toBe(hash);
    expect(hasher.hash(8, 'ABCDE-FGHJK')).not.toBe(hash);
    expect(new RecoveryCodeHasher('t'.repeat(40)).hash(7, 'ABCDE-FGHJK')).not.toBe(hash);
  });

  it.each(['ABCDE-FGHJ', 'ABCDE-FGHJKM', 'ABCDE FGHJK', 'ABCD-EFGHJK', 'ABCDE-FGHIK', 'UUUUU-UUUUU', 'ABCDE--FGHJ'])(
    'when the code is %j, then it is not a recovery code',
    (code) => expect(RECOVERY_CODE_PATTERN.test(code)).toBe(false),
  );
});
