import { KEY_PARAMS_BOUNDS, keyParamsOverBudget } from '../../lib/key-params';
import { hasControlCharacter, hasSurroundingWhitespace } from '../../lib/printable';
import { VERIFICATION_CODE_PATTERN } from '../../lib/verification-code';
import { IsEmail, IsIn, IsInt, Length, Matches, Max, MaxLength, Min, ValidateBy, applyDecorators } from './validators';

/** The validation rules of docs/PROTOCOL.md ("Limits"), one decorator per domain word, shared by every input. */
export const EmailRule = () =>
  applyDecorators(
    MaxLength(254, { message: 'must be at most 254 characters' }),
    IsEmail({ allow_display_name: false, require_tld: true }, { message: 'must be a bare email address such as joe@example.com' }),
  );
export const PasswordRule = () => Length(8, 1024, { message: 'must be 8 to 1024 characters' });
export const ClientSaltSeedRule = () => Matches(/^[0-9a-fA-F]{64}$/, { message: 'must be exactly 64 hex characters' });
export const VerificationCodeRule = () => Matches(VERIFICATION_CODE_PATTERN, { message: 'must be the 8-character code from the verification email' });
/**
 * A deviceId is printed by the admin CLI and compared exactly by the database: a
 * control character could drive an operator's terminal, and surrounding
 * whitespace names a device that looks like another one (docs/PROTOCOL.md, validation).
 */
export const DeviceIdRule = () =>
  applyDecorators(
    Length(1, 255, { message: 'must be 1 to 255 characters' }),
    ValidateBy({
      name: 'deviceIdPrintable',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || (!hasControlCharacter(value) && !hasSurroundingWhitespace(value)),
        defaultMessage: () => 'must not contain control characters nor begin or end with whitespace',
      },
    }),
  );

const POWERS_OF_TWO_N = Array.from({ length: KEY_PARAMS_BOUNDS.maxLog2N - KEY_PARAMS_BOUNDS.minLog2N + 1 }, (_, i) => 2 ** (KEY_PARAMS_BOUNDS.minLog2N + i));
export const ScryptNRule = () =>
  IsIn(POWERS_OF_TWO_N, { message: `must be a power of two from 2^${KEY_PARAMS_BOUNDS.minLog2N} to 2^${KEY_PARAMS_BOUNDS.maxLog2N}` });
const between = (min: number, max: number) =>
  applyDecorators(IsInt({ message: `must be ${min} to ${max}` }), Min(min, { message: `must be ${min} to ${max}` }), Max(max, { message: `must be ${min} to ${max}` }));
/**
 * scrypt itself requires N < 2^(16·r) (RFC 7914): with r=1, N=2^16 or more is no
 * valid scrypt (Node's crypto.scrypt refuses it), so an account registered with it
 * could not be opened by such a client. Refused here with the other bounds.
 */
const NBelowTwoToSixteenR = () =>
  ValidateBy({
    name: 'scryptNBelowTwoToSixteenR',
    validator: {
      validate: (r: unknown, args) => {
        const n = (args?.object as { n?: unknown } | undefined)?.n;
        // Only between values that pass their own bounds: an out-of-bounds n or r has its own message already.
        if (!POWERS_OF_TWO_N.includes(n as number) || !Number.isInteger(r) || (r as number) < 1 || (r as number) > KEY_PARAMS_BOUNDS.maxR) return true;
        return (n as number) < 2 ** (16 * (r as number));
      },
      defaultMessage: () => 'must be at least 2 when n is 2^16 or more (scrypt requires n < 2^(16·r), RFC 7914)',
    },
  });
/** n, r and p of the same object when each is within its own bounds (those out of them have their own message already). */
function withinOwnBounds(object: unknown): { n: number; r: number; p: number } | null {
  const { n, r, p } = (object ?? {}) as { n?: unknown; r?: unknown; p?: unknown };
  const int = (value: unknown, max: number): value is number => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max;
  return POWERS_OF_TWO_N.includes(n as number) && int(r, KEY_PARAMS_BOUNDS.maxR) && int(p, KEY_PARAMS_BOUNDS.maxP) ? { n: n as number, r, p } : null;
}
/**
 * The memory (128·N·r) and the work (N·r·p) the parameters reach together: each
 * may be within its own bounds while the whole needs 2 GiB (issue 25). The memory
 * is reported on r, the work on p.
 */
const WithinBudget = (budget: 'memory' | 'work') =>
  ValidateBy({
    name: `scryptWithin${budget === 'memory' ? 'Memory' : 'Work'}`,
    validator: {
      validate: (_value: unknown, args) => {
        const params = withinOwnBounds(args?.object);
        // keyParamsOverBudget names the memory first: parameters over both get the one message, on r.
        return !params || keyParamsOverBudget(params) !== budget;
      },
      defaultMessage: () =>
        budget === 'memory'
          ? `must be small enough that scrypt's memory, 128·n·r bytes, stays within 1 GiB (n·r at most 2^23)`
          : `must be small enough that scrypt's work, n·r·p, stays within 2^23 (that of n=2^20, r=8, p=1)`,
    },
  });
export const ScryptRRule = () => applyDecorators(between(1, KEY_PARAMS_BOUNDS.maxR), NBelowTwoToSixteenR(), WithinBudget('memory'));
export const ScryptPRule = () => applyDecorators(between(1, KEY_PARAMS_BOUNDS.maxP), WithinBudget('work'));
