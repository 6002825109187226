/**
 * Text that reaches a terminal. A C0 or C1 control character (ESC, CSI, BEL,
 * DEL …) lets stored text drive the terminal that prints it: clear the screen,
 * set the title, write the clipboard through OSC 52. Bidirectional overrides
 * and line separators do not drive it but reorder or split what it shows.
 */
const CONTROL = /\p{Cc}/u;
const UNSAFE_FOR_TERMINAL = /[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** True when `value` holds a control character (Unicode category Cc: C0, DEL, C1). */
export function hasControlCharacter(value: string): boolean {
  return CONTROL.test(value);
}

/** True when `value` begins or ends with whitespace (as String.prototype.trim sees it). */
export function hasSurroundingWhitespace(value: string): boolean {
  return value !== value.trim();
}

/**
 * `value` with every control, bidirectional and line-separating character
 * written as a visible escape (`\x1b`, `\u202e`), backslashes doubled so an
 * escape in the data cannot pass for one we wrote. What any CLI prints from the
 * database goes through this.
 */
export function escapeForTerminal(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(UNSAFE_FOR_TERMINAL, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * A template tag for text meant for a terminal: every interpolated value goes
 * through escapeForTerminal, the template's own tabs and newlines stay. So a
 * value read from the database can neither drive the terminal nor forge a line.
 */
export function terminalText(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce((text, literal, i) => text + escapeForTerminal(String(values[i - 1])) + literal);
}

/**
 * JSON whose text is safe on a terminal too: JSON.stringify escapes C0 controls
 * but writes DEL, the C1 controls and the bidirectional ones as they are; here
 * they become \u escapes, which every JSON reader decodes back to the same value.
 */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_FOR_TERMINAL, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}
