/**
 * The scrypt parameters a client derives an account's keys with (PROTOCOL.md,
 * "Keys"). The server only stores and hands them out, so that every device of
 * the account derives the same keys; it never runs scrypt itself.
 */
export interface KeyParams {
  n: number;
  r: number;
  p: number;
}

/** Protocol 2's default: 128 MiB per derivation, workable on phones. */
export const DEFAULT_KEY_PARAMS: Readonly<KeyParams> = Object.freeze({ n: 2 ** 17, r: 8, p: 1 });

/** What every account created before protocol 2 derived with (1 GiB per derivation). */
export const PROTOCOL_1_KEY_PARAMS: Readonly<KeyParams> = Object.freeze({ n: 2 ** 20, r: 8, p: 1 });

export const KEY_PARAMS_BOUNDS = { minLog2N: 14, maxLog2N: 20, maxR: 16, maxP: 4 } as const;

/** The only key-derivation algorithm of protocol 2. */
export const KEY_ALGORITHM = 'scrypt';
