import { SEEN_STATES_KEPT, ROOT_CHAIN, chainOf, extendChain, hasSeen, rememberStates, type ChainMark } from '../../src/history-chain';
import { parseDocument, serializeDocument } from '../../src/wallet-document';

/** The vectors of PROTOCOL.md "The history chain". */
const HMACS = ['c1606263b2af06762c8a7206129c9226f7c986ca3aa96ea31242df0720bfda4a', '7a4ecfed8d7bbb2fa7c08f0e7f14b0f0a8354002034f0c3fb356f7177809eba7'];
const CHAINS = ['6df3879ea80e4a7972f95c1aa37d4b71468e93e83931fc49d06e62b3901433cb', '2fbce1b2e3c85fa9fc505c5d319042b35866546994f4809b518fadcff742e58c'];

describe('the history chain (PROTOCOL.md "The history chain")', () => {
  it('when the vector hmacs are chained from no parent, then the chains are the vector chains', async () => {
    const first = await chainOf(ROOT_CHAIN, HMACS[0]);
    expect(first).toBe(CHAINS[0]);
    await expect(chainOf(first, HMACS[1])).resolves.toBe(CHAINS[1]);
    await expect(extendChain(ROOT_CHAIN, HMACS)).resolves.toBe(CHAINS[1]);
  });

  it('when the same hmacs come in another order, then the chain differs (it commits to the order)', async () => {
    await expect(extendChain(ROOT_CHAIN, [...HMACS].reverse())).resolves.not.toBe(CHAINS[1]);
  });

  it(`when more than ${SEEN_STATES_KEPT} states are remembered, then the newest ${SEEN_STATES_KEPT} are kept, each once`, () => {
    const marks: ChainMark[] = Array.from({ length: SEEN_STATES_KEPT + 5 }, (_, i) => ({ sequence: i + 1, chain: `chain-${i + 1}` }));
    let seen: ChainMark[] = [];
    for (const mark of marks) seen = rememberStates(seen, [mark]);
    seen = rememberStates(seen, [marks[marks.length - 1]]);
    expect(seen).toHaveLength(SEEN_STATES_KEPT);
    expect(seen[0]).toEqual(marks[5]);
    expect(seen.at(-1)).toEqual(marks.at(-1));
    expect(hasSeen(seen, 'chain-6')).toBe(true);
    expect(hasSeen(seen, 'chain-5')).toBe(false);
  });
});

describe('prev in the wallet document', () => {
  const preferences = { animal: { value: 'cow', updatedAt: 1, deviceId: 'test_wallet_1' } };

  it('when a document names its parent, then it reads back with the same prev', () => {
    const prev = { sequence: 2, hmac: HMACS[1], chain: CHAINS[1] };
    expect(parseDocument(serializeDocument({ preferences, prev }))).toEqual({ preferences, prev });
  });

  it('when a document (sequence 1, or from a client before the chain) names no parent, then it reads back without prev', () => {
    expect(parseDocument(serializeDocument({ preferences }))).toEqual({ preferences });
  });

  it.each([
    ['not an object', 'x'],
    ['a sequence of 0', { sequence: 0, hmac: HMACS[0], chain: CHAINS[0] }],
    ['a chain that is not 64 hex characters', { sequence: 1, hmac: HMACS[0], chain: 'abc' }],
    ['no hmac', { sequence: 1, chain: CHAINS[0] }],
  ])('when prev is %s, then the document is refused as invalid', (_what, prev) => {
    expect(() => parseDocument(JSON.stringify({ format: 1, prev, preferences }))).toThrow(/prev/);
  });
});
