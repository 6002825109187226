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

export const KEY_PARAMS_BOUNDS = {
  minLog2N: 14,
  maxLog2N: 20,
  maxR: 16,
  maxP: 4,
  /**
   * scrypt holds 128·N·r bytes at once: the bounds above alone allow N=2^20
   * with r=16, 2 GiB, which kills a phone's app or a small VM, and every device
   * of the account must derive with them. 1 GiB is what the largest documented
   * parameters need (N=2^20, r=8: the accounts from before protocol 2).
   */
  maxMemoryBytes: 2 ** 30,
  /**
   * The work, N·r·p block mixes (p runs one after another in the clients'
   * implementations): at most that of the largest documented parameters,
   * N=2^20, r=8, p=1. The client package holds itself to the same two bounds.
   */
  maxWork: 2 ** 23,
} as const;

/** What is over the bounds the parameters reach together (each within its own), or null. */
export function keyParamsOverBudget({ n, r, p }: KeyParams): 'memory' | 'work' | null {
  if (128 * n * r > KEY_PARAMS_BOUNDS.maxMemoryBytes) return 'memory';
  if (n * r * p > KEY_PARAMS_BOUNDS.maxWork) return 'work';
  return null;
}

/** The only key-derivation algorithm of protocol 2. */
export const KEY_ALGORITHM = 'scrypt';
