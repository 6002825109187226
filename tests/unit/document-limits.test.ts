import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildSchema } from 'graphql';
import { documentLimits } from '../../src/graphql/document-limits';

const schema = buildSchema(`
  type Query { a: A }
  type A { b: B, n: Int }
  type B { c: C, n: Int }
  type C { n: Int }
  type Subscription { a: A }
`);

describe('documentLimits.check: the limits a document arriving outside Apollo meets', () => {
  const limits = documentLimits({ maxDepth: 3, maxAliases: 2, maxCost: 2000, maxTokens: 40 }, { suggestions: false });
  const outcome = (query: unknown) => {
    const checked = limits.check(schema, query);
    return 'errors' in checked ? [...new Set(checked.errors.map((e) => e.extensions.code))].join(',') : 'accepted';
  };

  it.each<[string, string, unknown]>([
    ['depth 3 counting the root field as 1', 'accepted', '{ a { b { n } } }'],
    ['depth 4', 'GRAPHQL_VALIDATION_FAILED', '{ a { b { c { n } } } }'],
    ['2 aliases', 'accepted', '{ x: a { n } y: a { n } }'],
    ['3 aliases', 'GRAPHQL_VALIDATION_FAILED', '{ x: a { n } y: a { n } z: a { n } }'],
    ['more than 40 tokens', 'GRAPHQL_PARSE_FAILED', `{ a { ${'n '.repeat(37)}} }`],
    ['a syntax error', 'GRAPHQL_PARSE_FAILED', '{ a { n }'],
    ['no query at all', 'GRAPHQL_PARSE_FAILED', undefined],
    ['a query that is not a string', 'GRAPHQL_PARSE_FAILED', { kind: 'Document' }],
    ['an unknown field', 'GRAPHQL_VALIDATION_FAILED', '{ a { m } }'],
    ['a subscription with two root fields', 'GRAPHQL_VALIDATION_FAILED', 'subscription { a { n } x: a { n } }'],
  ])('when the document has %s, then it is %s', (_case, expected, query) => {
    expect(outcome(query)).toBe(expected);
  });

  it('when the cost is over the limit, then GRAPHQL_VALIDATION_FAILED', () => {
    const cheap = documentLimits({ maxDepth: 10, maxAliases: 10, maxCost: 5, maxTokens: 1000 }, { suggestions: false });
    expect('errors' in cheap.check(schema, '{ a { n } }')).toBe(false);
    expect('errors' in cheap.check(schema, '{ a { b { c { n } } } }')).toBe(true);
  });

  it.each<[string, boolean, RegExp]>([
    ['hidden', false, /\[Suggestion hidden\]/],
    ['shown', true, /Did you mean "n"\?/],
  ])('when suggestions are %s, then a misspelt field\'s error says so', (_case, suggestions, expected) => {
    const checked = documentLimits({ maxDepth: 3, maxAliases: 2, maxCost: 2000, maxTokens: 100 }, { suggestions }).check(schema, '{ a { nn } }');
    expect('errors' in checked && checked.errors[0].message).toMatch(expected);
  });
});

describe('the cache of documents that passed the limits is bounded by what it holds', () => {
  /** The heap in use after a full collection: what the process holds, not what it has yet to collect. */
  const heldBytes = () => {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    return process.memoryUsage().heapUsed;
  };

  /** A thousand distinct fields: a document naming each once is cheap to validate and parses to ~2,000 nodes. */
  const wide = buildSchema(`type Query { ${Array.from({ length: 1000 }, (_, i) => `f${i}: Int`).join(' ')} }`);
  const widest = (i: number) => `query Q${i} { ${Array.from({ length: 995 }, (_, f) => `f${f}`).join(' ')} }`;

  it('when 200 distinct documents of the most tokens allowed pass, then the heap grows by under 48 MiB (their text is 1 MiB, their parsed form ~100 MiB)', () => {
    const limits = documentLimits({ maxDepth: 8, maxAliases: 10, maxCost: 2000, maxTokens: 1000 }, { suggestions: false });
    const before = heldBytes();
    for (let i = 0; i < 200; i += 1) {
      const checked = limits.check(wide, widest(i));
      expect('document' in checked).toBe(true);
    }
    expect(heldBytes() - before).toBeLessThan(48 * 1024 * 1024);
  });

  it('when the same document is checked again, then the parsed form is the one the cache holds', () => {
    const limits = documentLimits({ maxDepth: 8, maxAliases: 10, maxCost: 2000, maxTokens: 1000 }, { suggestions: false });
    const first = limits.check(schema, '{ a { n } }');
    const second = limits.check(schema, '{ a { n } }');
    expect('document' in first && 'document' in second && first.document === second.document).toBe(true);
  });
});
