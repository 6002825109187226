import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export const WALLET_UPDATED = `subscription WalletUpdated($since: Int) { walletUpdated(sinceSequence: $since) { sequence } }`;
/** The same, with the state in every event (protocol 3): what a device that reads nothing after an event selects. */
export const WALLET_UPDATED_WITH_STATE = `subscription WalletUpdated($since: Int) { walletUpdated(sinceSequence: $since) { sequence walletState { encryptedWallet sequence hmac updatedAt } } }`;

export interface CloseInfo {
  code: number;
  reason: string;
}

/** One subscription's events, in order, awaited one at a time. */
export interface LiveSubscription {
  /** The next event's sequence; rejects when the subscription errs, completes or nothing comes within `timeoutMs`. */
  next(timeoutMs?: number): Promise<number>;
  /** Every sequence received so far. */
  received: number[];
  /** Settles with the first error (or `'complete'`) the subscription ends with. */
  ended: Promise<unknown>;
}

export interface LiveClient {
  client: Client;
  /** Resolves once the server acknowledged connection_init. */
  connected: Promise<void>;
  /** Resolves with the close code and reason of the socket. */
  closed: Promise<CloseInfo>;
  /** `onSequence` hears each event as it arrives (the benchmark times deliveries with it); `query` selects what an event carries. */
  subscribe(sinceSequence?: number | null, onSequence?: (sequence: number) => void, query?: string): LiveSubscription;
  dispose(): Promise<void>;
}

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/graphql`;
}

/**
 * A graphql-ws client as a device runs it, except that it never retries, so a
 * test sees each close as it happened. `token: null` sends no authorization.
 * The one graphql-ws client of the tests and the benchmark (the client package
 * has its own, with its reconnection policy).
 */
export function connectLive(httpUrl: string, token: string | null, extraParams: Record<string, unknown> = {}): LiveClient {
  let onConnected!: () => void;
  let onClosed!: (info: CloseInfo) => void;
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  const closed = new Promise<CloseInfo>((resolve) => (onClosed = resolve));
  const client = createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    connectionParams: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...extraParams },
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => {},
    on: {
      connected: () => onConnected(),
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string | Buffer };
        onClosed({ code, reason: String(reason) });
      },
    },
  });

  return {
    client,
    connected,
    closed,
    subscribe(sinceSequence, onSequence, query = WALLET_UPDATED) {
      const received: number[] = [];
      const waiting: Array<{ resolve: (n: number) => void; reject: (e: unknown) => void }> = [];
      let cursor = 0;
      let failure: unknown;
      let onEnded!: (value: unknown) => void;
      const ended = new Promise<unknown>((resolve) => (onEnded = resolve));
      const fail = (reason: unknown) => {
        failure ??= reason;
        onEnded(reason);
        for (const w of waiting.splice(0)) w.reject(reason);
      };
      client.subscribe<{ walletUpdated: { sequence: number } }>(
        { query, variables: sinceSequence === undefined ? {} : { since: sinceSequence } },
        {
          next: (result) => {
            if (result.errors || !result.data) return fail(result.errors ?? new Error('no data'));
            received.push(result.data.walletUpdated.sequence);
            onSequence?.(result.data.walletUpdated.sequence);
            const w = waiting.shift();
            if (w) w.resolve(received[cursor++]);
          },
          error: fail,
          complete: () => fail('complete'),
        },
      );
      return {
        received,
        ended,
        next(timeoutMs = 5000) {
          if (cursor < received.length) return Promise.resolve(received[cursor++]);
          if (failure !== undefined) return Promise.reject(failure);
          return new Promise<number>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms (received so far: ${received.join(', ') || 'none'})`)), timeoutMs);
            waiting.push({
              resolve: (n) => (clearTimeout(timer), resolve(n)),
              reject: (e) => (clearTimeout(timer), reject(e)),
            });
          });
        },
      };
    },
    dispose: () => client.dispose() as Promise<void>,
  };
}

/** A promise that rejects after `ms`, for racing against what a test awaits. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms))),
  ]);
}

/** Polls `condition` (sync or async) every 10 ms until it holds; for state that sends no event, e.g. a server's counters. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A subscription known to be in effect: the account's wallet is at sequence 1
 * and the subscription (sinceSequence 0) has received that catch-up event.
 * The client is added to `clients`, for the test to dispose of.
 */
export async function subscribedAtSequence1(httpUrl: string, token: string, clients: LiveClient[]) {
  const client = connectLive(httpUrl, token);
  clients.push(client);
  const subscription = client.subscribe(0);
  const first = await subscription.next();
  if (first !== 1) throw new Error(`expected the catch-up event for sequence 1, got ${first}`);
  return { client, subscription };
}

export interface UpgradeAnswer {
  /** 101 when the upgrade was accepted, else the status it was refused with. */
  status: number;
  /** The graphql-ws messages received before the answer was known (a refusal must come before any). */
  messages: string[];
}

/**
 * A bare WebSocket to /graphql with `origin` as a browser page would send it
 * (undefined: none, as a native app), which says connection_init with `token`:
 * resolves with 101 once graphql-ws acknowledges, or with the HTTP status the
 * upgrade was refused with.
 */
export function tryUpgrade(httpUrl: string, token: string, origin: string | undefined): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const messages: string[] = [];
    const socket = new WebSocket(wsUrl(httpUrl), 'graphql-transport-ws', origin === undefined ? {} : { origin });
    socket.on('unexpected-response', (request, response) => {
      request.destroy();
      resolve({ status: response.statusCode ?? 0, messages });
    });
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.on('message', (data) => {
      messages.push(String(data));
      if (JSON.parse(String(data)).type === 'connection_ack') {
        socket.close();
        resolve({ status: 101, messages });
      }
    });
    socket.on('error', reject);
    socket.on('close', (code) => reject(new Error(`closed with ${code} before connection_ack`)));
  });
}
