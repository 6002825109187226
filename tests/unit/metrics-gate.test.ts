import { metricsGate } from '../../src/http/metrics-gate';

describe('metricsGate: who may read /metrics', () => {
  const token = 'scrape-token-0123456789abcdef';
  const withToken = metricsGate({ kind: 'token', token });

  it.each<[string, string | undefined, boolean]>([
    ['the token as a Bearer token', `Bearer ${token}`, true],
    ['no header', undefined, false],
    ['an empty header', '', false],
    ['the token without its scheme', token, false],
    ['the token with its last character changed', `Bearer ${token.slice(0, -1)}X`, false],
    ['a prefix of the token', `Bearer ${token.slice(0, 10)}`, false],
    ['the token and more', `Bearer ${token}0`, false],
    ['the scheme in another case', `bearer ${token}`, false],
  ])('when a scraper sends %s, then it is let in: %s', (_case, authorization, allowed) => {
    expect(withToken(authorization)).toBe(allowed);
  });

  it.each<[string, 'public' | 'closed', boolean]>([
    ['public', 'public', true],
    ['closed', 'closed', false],
  ])('when access is %s, then any header is answered the same', (_case, kind, allowed) => {
    const gate = metricsGate({ kind });
    expect([gate(undefined), gate(`Bearer ${token}`), gate('garbage')]).toEqual([allowed, allowed, allowed]);
  });
});
