import { createHistogram } from 'node:perf_hooks';
import { Client } from 'undici';

/**
 * A closed-loop load driver: each connection is one keep-alive HTTP/1.1
 * connection with one request in flight, and its own state (the token it
 * sends, the sequence it uploads next), which is why this is not autocannon:
 * autocannon resets a connection's context after every request.
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

export interface LoadOptions {
  origin: string;
  path?: string;
  connections: number;
  connection(index: number): Connection;
  warmupMs: number;
  durationMs: number;
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

/** Runs the load: warm-up, then the measured window; resolves once every connection has stopped. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const histogram = createHistogram();
  const counts = { requests: 0, ok: 0, conflicts: 0, graphqlErrors: 0, non2xx: 0, status5xx: 0, networkErrors: 0 };
  const samples = new Map<string, string>();
  const started = performance.now();
  const measureFrom = started + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;
  const timeout = options.requestTimeoutMs ?? 30_000;
  const path = options.path ?? '/graphql';

  const loop = async (index: number) => {
    const connection = options.connection(index);
    const client = new Client(options.origin, { pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: timeout, bodyTimeout: timeout });
    try {
      while (performance.now() < stopAt) {
        const sent = performance.now();
        let kind: Outcome | 'non2xx' | 'network';
        let detail = '';
        try {
          const response = await client.request({ path, method: 'POST', headers: connection.headers, body: connection.body() });
          const text = await response.body.text();
          if (response.statusCode >= 200 && response.statusCode < 300) {
            kind = connection.answer(text);
            if (kind === 'graphqlError') detail = text.slice(0, 300);
          } else {
            kind = 'non2xx';
            detail = `${response.statusCode} ${text.slice(0, 300)}`;
            if (response.statusCode >= 500) counts.status5xx += 1;
          }
        } catch (error) {
          kind = 'network';
          detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        }
        const done = performance.now();
        if (kind !== 'ok' && kind !== 'conflict' && !samples.has(kind)) samples.set(kind, detail);
        if (sent < measureFrom || done > stopAt) continue;
        counts.requests += 1;
        histogram.record(Math.max(1, Math.round((done - sent) * 1000))); // microseconds
        if (kind === 'ok') counts.ok += 1;
        else if (kind === 'conflict') counts.conflicts += 1;
        else if (kind === 'graphqlError') counts.graphqlErrors += 1;
        else if (kind === 'non2xx') counts.non2xx += 1;
        else counts.networkErrors += 1;
      }
    } finally {
      await client.close().catch(() => client.destroy());
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
