import { MemoryDeviceStateStore } from 'wallet-sync-client';
import { playWalkthrough } from '../../../scripts/walkthrough';

import { useTestServer } from '../../../tests/helpers/hooks';
import { TEST_KEY_PARAMS } from '../helpers/devices';
import { uniqueEmail } from '../../../test-support/operations';

/** The reference walkthrough through the client, against a real server: every step checks itself. */
describe('the walkthrough via the client', () => {
  const server = useTestServer();

  it('when two devices play the walkthrough, then c1 conflicts at 6, merges, and both end at 7 with beaver and Toyota', async () => {
    const lines: string[] = [];
    const { c1, c2 } = await playWalkthrough({
      url: server.url,
      email: uniqueEmail('joe2'),
      rootPassword: '123abc2',
      keyParams: TEST_KEY_PARAMS,
      storeFor: () => new MemoryDeviceStateStore(),
      print: (line) => lines.push(line),
    });
    for (const client of [c1, c2]) {
      expect(client.status()).toMatchObject({ sequence: 7, unsyncedKeys: [] });
      expect(client.preferences()).toEqual({ animal: 'beaver', car: 'Toyota' });
    }
    const transcript = lines.join('\n');
    expect(transcript).toContain('>>> c1.push()\nWallet state out of date.');
    expect(transcript.match(/'Success'/g)).toHaveLength(7);
  });
});
