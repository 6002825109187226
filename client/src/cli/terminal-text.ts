/**
 * Text the CLI prints that came from the server or the wallet (deviceIds,
 * preference keys and values, the server's error messages). A control
 * character in it (ESC, CSI, BEL, DEL, C1) would let whoever wrote it drive the
 * user's terminal: clear the screen, set the title, write the clipboard through
 * OSC 52. Bidirectional overrides and line separators don't drive it, but
 * reorder or split what it shows.
 *
 * Our own, not a dependency: strip-ansi and Node's stripVTControlCharacters
 * remove whole escape sequences but leave a bare BEL or single-byte C1 CSI,
 * and hide that anything was there; jsesc escapes every non-ASCII character,
 * so every accented value would print mangled.
 */
const UNSAFE = /[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
/** The same, but newline and tab: for a value printed on its own, where they are the value's lines. */
const UNSAFE_KEEPING_LINES = /[^\P{Cc}\n\t]|[\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

function visible(character: string): string {
  const code = character.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `value` with every control, bidirectional and line-separating character
 * written as a visible escape (`\x1b`, `\u202e`); backslashes are doubled so an
 * escape in the data cannot pass for one the CLI wrote. `keepLines` leaves
 * newlines and tabs as they are.
 */
export function escapeForTerminal(value: string, options: { keepLines?: boolean } = {}): string {
  return value.replace(/\\/g, '\\\\').replace(options.keepLines ? UNSAFE_KEEPING_LINES : UNSAFE, visible);
}

/**
 * A template tag for a line meant for a terminal: every interpolated value is
 * escaped, the template's own text stays. So a value can neither drive the
 * terminal nor forge a line of output.
 */
export function terminalText(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce((text, literal, i) => text + escapeForTerminal(String(values[i - 1])) + literal);
}

/**
 * JSON that is safe on a terminal too: JSON.stringify escapes C0 controls but
 * writes DEL, C1 and the bidirectional characters as they are; here they become
 * \u escapes, which every JSON reader decodes back to the same value.
 */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

/** `value` cut to `max` characters for echoing, saying how long it was. */
export function truncated(value: string, max = 80): string {
  const characters = [...value];
  return characters.length <= max ? value : `${characters.slice(0, max).join('')}… (${characters.length} characters)`;
}
