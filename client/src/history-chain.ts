import { toHex, utf8 } from './encoding';

/**
 * The history chain of PROTOCOL.md: what lets a device tell a server that
 * extends the history it saw from one that went back (a restore from an old
 * backup) or shows it another history (a fork). Every document names its
 * parent state (`prev`) inside the encryption, where the server cannot change
 * it; the chain folds every hmac since the first state into one hash, so a
 * device that remembers the chain of the last state it saw can check, from
 * the headers in between alone, that a newer state descends from it.
 */

/** The parent state a document was built on: `prev` inside the encrypted document. */
export interface StateLink {
  sequence: number;
  hmac: string;
  chain: string;
}

/** A state this device has seen, as its memory keeps it. */
export interface ChainMark {
  sequence: number;
  chain: string;
}

/** How many seen states a device remembers (PROTOCOL.md: at least the last 1,000). */
export const SEEN_STATES_KEPT = 1000;

/** The chain of "no parent": what sequence 1 of a fresh history builds on. */
export const ROOT_CHAIN = '';

/** chain(state) = hex(sha256(`${chain(parent)}:${hmac(state)}`)). */
export async function chainOf(parentChain: string, hmac: string): Promise<string> {
  return toHex(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', utf8(`${parentChain}:${hmac}`))));
}

/** The chain after folding in `hmacs` in order, starting from `chain`. */
export async function extendChain(chain: string, hmacs: string[]): Promise<string> {
  let current = chain;
  for (const hmac of hmacs) current = await chainOf(current, hmac);
  return current;
}

/**
 * The memory with `marks` added (newest last), each state once, cut to the
 * newest SEEN_STATES_KEPT: a rollback further back than that is reported as a
 * fork, which heals the same way.
 */
export function rememberStates(seen: readonly ChainMark[], marks: readonly ChainMark[]): ChainMark[] {
  const added = new Set(marks.map((mark) => mark.chain));
  return [...seen.filter((mark) => !added.has(mark.chain)), ...marks].slice(-SEEN_STATES_KEPT);
}

export function hasSeen(seen: readonly ChainMark[], chain: string): boolean {
  return seen.some((mark) => mark.chain === chain);
}

/**
 * A server whose history does not extend what this device saw. The device
 * kept its data, merged its latest content onto the server's state and (when
 * that changed anything) uploaded the merge: the app only has to tell the user.
 */
export interface Divergence {
  /**
   * rollback: the server's state is one this device saw before a newer one
   * (typically a restore from an old backup). fork: any other history.
   */
  kind: 'rollback' | 'fork';
  /**
   * What gave it away. sequence-went-back: the server's sequence is not newer than the last this device saw, or it has
   * no wallet any more. chain-mismatch: the headers between the two do not lead to the chain the new state names (a
   * different history, or headers that lie). history-incomplete: the server did not answer every header in between,
   * so nothing could be checked and nothing was trusted.
   */
  reason: 'sequence-went-back' | 'chain-mismatch' | 'history-incomplete';
  /** The last state this device had seen. */
  seen: { sequence: number; hmac: string };
  /** The server's state it found; null when the server had no wallet at all. */
  server: { sequence: number; hmac: string } | null;
}
