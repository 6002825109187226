import { createHistogram } from 'node:perf_hooks';
import type { ExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import { Client } from 'undici';
import WebSocket from 'ws';

/**
 * A closed-loop load driver: each connection is one keep-alive HTTP/1.1
 * connection (or one graphql-ws connection) with one request in flight, and
 * its own state (the token it sends, the sequence it uploads next), which is
 * why this is not autocannon: autocannon resets a connection's context after
 * every request.
 */

/** What a connection makes of one answer. */
export type Outcome = 'ok' | 'conflict' | 'graphqlError';

export interface Connection {
  /** The next request's body. */
  body(): string;
  headers: Record<string, string>;
  /** Called for every 2xx answer, during warm-up too (a write that landed is a write that landed). */
  answer(body: string): Outcome;
}

export interface LoadOptions extends Window {
  origin: string;
  path?: string;
  connection(index: number): Connection;
  /** Ends a request that hangs: it counts as an error. */
  requestTimeoutMs?: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  ok: number;
  conflicts: number;
  graphqlErrors: number;
  non2xx: number;
  status5xx: number;
  networkErrors: number;
  /** One example of each kind of failure, for the log. */
  samples: string[];
}

/** What one request came to, as a connection classifies it. */
interface Answer {
  kind: Outcome | 'non2xx' | 'network';
  /** For the log's samples of failures. */
  detail: string;
  status5xx?: boolean;
}

/** One connection as the load drives it: a request in flight at a time. */
interface Channel {
  request(): Promise<Answer>;
  close(): Promise<void>;
}

interface Window {
  connections: number;
  warmupMs: number;
  durationMs: number;
}

/** Runs the load over plain HTTP: warm-up, then the measured window; resolves once every connection has stopped. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const timeout = options.requestTimeoutMs ?? 30_000;
  const path = options.path ?? '/graphql';
  return drive(options, async (index) => {
    const connection = options.connection(index);
    const client = new Client(options.origin, { pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: timeout, bodyTimeout: timeout });
    return {
      async request() {
        try {
          const response = await client.request({ path, method: 'POST', headers: connection.headers, body: connection.body() });
          const text = await response.body.text();
          if (response.statusCode < 200 || response.statusCode >= 300) {
            return { kind: 'non2xx', detail: `${response.statusCode} ${text.slice(0, 300)}`, status5xx: response.statusCode >= 500 };
          }
          const kind = connection.answer(text);
          return { kind, detail: kind === 'graphqlError' ? text.slice(0, 300) : '' };
        } catch (error) {
          return { kind: 'network', detail: describeError(error) };
        }
      },
      close: () => client.close().catch(() => client.destroy()),
    };
  });
}

/** One device's operations over its authenticated graphql-ws connection. */
export interface SocketConnection {
  /** Sent in connection_init, as a device does. */
  token: string;
  /** The next operation. */
  operation(): { query: string; variables?: Record<string, unknown> };
  /** Called for every result, during warm-up too. */
  answer(result: ExecutionResult): Outcome;
}

export interface SocketLoadOptions extends Window {
  /** The server's base URL, e.g. http://127.0.0.1:40123; the socket is on its /graphql. */
  origin: string;
  connection(index: number): SocketConnection;
}

/**
 * The same load over the live connection (protocol 3): each connection a
 * graphql-ws client that authenticated once at connection_init and sends one
 * query or mutation at a time, waiting for its result.
 */
export function runSocketLoad(options: SocketLoadOptions): Promise<LoadResult> {
  return drive(options, async (index) => {
    const connection = options.connection(index);
    const client = createClient({
      url: `${options.origin.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${connection.token}` },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => {},
    });
    await new Promise<void>((resolve, reject) => {
      const off = [client.on('connected', () => (off.forEach((f) => f()), resolve())), client.on('closed', (event) => (off.forEach((f) => f()), reject(new Error(`socket closed: ${JSON.stringify(event)}`))))];
    });
    return {
      async request() {
        try {
          const result = await new Promise<ExecutionResult>((resolve, reject) => {
            let last: ExecutionResult | undefined;
            client.subscribe(connection.operation(), {
              next: (value) => (last = value as ExecutionResult),
              error: reject,
              complete: () => (last ? resolve(last) : reject(new Error('completed without a result'))),
            });
          });
          const kind = connection.answer(result);
          return { kind, detail: kind === 'graphqlError' ? JSON.stringify(result).slice(0, 300) : '' };
        } catch (error) {
          return { kind: 'network', detail: describeError(error) };
        }
      },
      close: async () => void (await client.dispose()),
    };
  });
}

const describeError = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : Array.isArray(error) ? JSON.stringify(error).slice(0, 300) : String(error);

/** Each connection sends request after request until the window ends; only requests wholly inside the measured window count. */
async function drive(options: Window, open: (index: number) => Promise<Channel>): Promise<LoadResult> {
  const histogram = createHistogram();
  const counts = { requests: 0, ok: 0, conflicts: 0, graphqlErrors: 0, non2xx: 0, status5xx: 0, networkErrors: 0 };
  const samples = new Map<string, string>();
  const started = performance.now();
  const measureFrom = started + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;

  const loop = async (index: number) => {
    const channel = await open(index);
    try {
      while (performance.now() < stopAt) {
        const sent = performance.now();
        const { kind, detail, status5xx } = await channel.request();
        const done = performance.now();
        if (kind !== 'ok' && kind !== 'conflict' && !samples.has(kind)) samples.set(kind, detail);
        if (sent < measureFrom || done > stopAt) continue;
        counts.requests += 1;
        if (status5xx) counts.status5xx += 1;
        histogram.record(Math.max(1, Math.round((done - sent) * 1000))); // microseconds
        if (kind === 'ok') counts.ok += 1;
        else if (kind === 'conflict') counts.conflicts += 1;
        else if (kind === 'graphqlError') counts.graphqlErrors += 1;
        else if (kind === 'non2xx') counts.non2xx += 1;
        else counts.networkErrors += 1;
      }
    } finally {
      await channel.close();
    }
  };
  await Promise.all(Array.from({ length: options.connections }, (_, i) => loop(i)));

  const seconds = options.durationMs / 1000;
  const ms = (us: number) => Math.round(us / 10) / 100;
  return {
    ...counts,
    seconds,
    rps: counts.requests / seconds,
    p50Ms: counts.requests ? ms(histogram.percentile(50)) : 0,
    p99Ms: counts.requests ? ms(histogram.percentile(99)) : 0,
    maxMs: counts.requests ? ms(histogram.max) : 0,
    samples: [...samples].map(([kind, detail]) => `${kind}: ${detail}`),
  };
}
