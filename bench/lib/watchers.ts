import { createClient, type Client } from 'graphql-ws';
import { Client as HttpClient } from 'undici';
import WebSocket from 'ws';

/**
 * Devices that watch their account while another device writes: each holds a
 * graphql-ws subscription to walletUpdated. With 'state' the event carries the
 * wallet state (protocol 3); with 'read' the event carries the sequence and the
 * device then reads the state over HTTP, as protocol 2 clients do (an event
 * that arrives during the read is folded into one more read after it).
 */
export interface Watchers {
  /** Events received, and states the devices hold (each event's or each read's). */
  counts(): { events: number; states: number; errors: number };
  stop(): Promise<void>;
}

const WITH_STATE = 'subscription { walletUpdated { sequence walletState { encryptedWallet sequence hmac } } }';
const SEQUENCE_ONLY = 'subscription { walletUpdated { sequence } }';
const READ_BODY = JSON.stringify({ query: 'query { walletState { encryptedWallet sequence hmac } }' });

export async function startWatchers(origin: string, tokens: string[], mode: 'state' | 'read'): Promise<Watchers> {
  const counts = { events: 0, states: 0, errors: 0 };
  const clients: Client[] = [];
  const readers: HttpClient[] = [];
  const subscribed: Array<Promise<void>> = [];
  for (const token of tokens) {
    const client = createClient({ url: `${origin.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    clients.push(client);
    const http = new HttpClient(origin, { pipelining: 1 });
    readers.push(http);
    let reading = false;
    let again = false;
    const read = async (): Promise<void> => {
      if (reading) return void (again = true);
      reading = true;
      try {
        do {
          again = false;
          const response = await http.request({ path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: READ_BODY });
          const text = await response.body.text();
          if (response.statusCode === 200 && text.includes('"encryptedWallet"')) counts.states += 1;
          else counts.errors += 1;
        } while (again);
      } catch {
        counts.errors += 1;
      } finally {
        reading = false;
      }
    };
    subscribed.push(
      new Promise<void>((resolve, reject) => {
        // The subscription is in effect well before the measured window: the benchmark's warm-up comes first.
        client.on('connected', () => resolve());
        client.subscribe(
          { query: mode === 'state' ? WITH_STATE : SEQUENCE_ONLY },
          {
            next: (result) => {
              counts.events += 1;
              if (result.errors) counts.errors += 1;
              else if (mode === 'state') counts.states += (result.data as { walletUpdated: { walletState: unknown } }).walletUpdated.walletState ? 1 : 0;
              else void read();
            },
            error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
            complete: () => {},
          },
        );
      }),
    );
  }
  await Promise.all(subscribed);
  return {
    counts: () => ({ ...counts }),
    async stop() {
      await Promise.all(clients.map((client) => client.dispose()));
      await Promise.all(readers.map((reader) => reader.close()));
    },
  };
}
