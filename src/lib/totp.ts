import { Secret, TOTP } from 'otpauth';

/**
 * TOTP as PROTOCOL.md fixes it (RFC 6238: SHA-1, 6 digits, 30 s steps), through
 * the otpauth library: the HOTP arithmetic is not ours to get wrong. The step a
 * code matched is answered, not just yes or no, so the caller can refuse a step
 * once used (replay) with one conditional write.
 */
export const TOTP_ALGORITHM = 'SHA1';
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
/** Steps accepted either side of the current one: clocks drift, and a code typed at a step's end arrives in the next. */
export const TOTP_DRIFT_STEPS = 1;
/** 160 bits, RFC 4226's recommended secret length (and SHA-1's block-friendly key size). */
const SECRET_BYTES = 20;

export const TOTP_CODE_PATTERN = /^[0-9]{6}$/;

/** A fresh secret, base32 without padding, as authenticator apps take it. */
export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/** The otpauth:// URI an authenticator app reads from a QR code: issuer SERVER_NAME, account the email. */
export function totpUri(secret: string, issuer: string, accountName: string): string {
  return totp(secret, issuer, accountName).toString();
}

/** The code of `secret` at `at` (tests and tools; the server only checks codes). */
export function totpCode(secret: string, at: Date): string {
  return totp(secret).generate({ timestamp: at.getTime() });
}

/** The step (30 s periods since the epoch) whose code `code` is, among the current one ± TOTP_DRIFT_STEPS at `now`; null for none. */
export function matchingTotpStep(secret: string, code: string, now: Date): number | null {
  if (!TOTP_CODE_PATTERN.test(code)) return null;
  const otp = totp(secret);
  const timestamp = now.getTime();
  const delta = otp.validate({ token: code, timestamp, window: TOTP_DRIFT_STEPS });
  return delta === null ? null : otp.counter({ timestamp }) + delta;
}

function totp(secret: string, issuer?: string, label?: string): TOTP {
  return new TOTP({
    issuer,
    label,
    secret: Secret.fromBase32(secret),
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  });
}
