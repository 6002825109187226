import { escapeForTerminal, hasControlCharacter, hasSurroundingWhitespace, terminalJson, terminalText } from '../../src/lib/printable';

describe('text printed to a terminal', () => {
  it.each([
    ['plain text', 'laptop', 'laptop'],
    ['an OSC 52 clipboard write', '\u001b]52;c;aGk=\u0007', '\\x1b]52;c;aGk=\\x07'],
    ['a C1 CSI and DEL', '\u009b2J\u007f', '\\x9b2J\\x7f'],
    ['a right-to-left override and a line separator', 'a\u202eb\u2028c', 'a\\u202eb\\u2028c'],
    ['a backslash that imitates an escape', 'a\\x1b', 'a\\\\x1b'],
    ['accents and emoji, which are left alone', 'Jöe’s 📱', 'Jöe’s 📱'],
  ])('when %s is escaped, then it shows as %j', (_case, value, shown) => {
    expect(escapeForTerminal(value)).toBe(shown);
  });

  it('when a template is tagged, then its values are escaped and its own tabs and newlines stay', () => {
    expect(terminalText`a\t${'x\ny'}\n${1}`).toBe('a\tx\\x0ay\n1');
  });

  it('when JSON is written for a terminal, then it holds no raw control and still parses to the same value', () => {
    const value = { deviceId: '\u001b\u009b\u007f\u202e' };
    expect(terminalJson(value)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(JSON.parse(terminalJson(value))).toEqual(value);
  });

  it.each([
    ['laptop', false, false],
    ['my laptop', false, false],
    ['laptop ', false, true],
    ['\u3000laptop', false, true],
    ['lap\u0000top', true, false],
    ['lap\u0085top', true, false],
  ])('when %j is checked, then control character %s, surrounding whitespace %s', (value, control, whitespace) => {
    expect([hasControlCharacter(value), hasSurroundingWhitespace(value)]).toEqual([control, whitespace]);
  });
});
