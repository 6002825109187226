import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Clock } from '../lib/clock';
import type { LiveConnections } from './live-connections';
import { KEEPALIVE_SLICES, type BindingOf } from './socket-binding';

/** How often every open socket is checked against its deadlines: connection_init, and its token's expiry. */
const DEADLINE_CHECK_MS = 500;
/**
 * A socket that has not sent connection_init by then is dropped (graphql-ws's
 * default wait). Dropped, not closed: a close waits up to 30 s for the peer's
 * close frame, so a peer that never answers would hold its slot ten times longer.
 */
export const CONNECTION_INIT_WAIT_MS = 3000;

export interface SweepOptions {
  sockets: Set<WebSocket>;
  bindingOf: BindingOf;
  connections: LiveConnections;
  /** Decides whether a token has expired, so a test clock can move expiry closer; the sweep itself runs in real time. */
  clock: Clock;
  /** Interval of the WebSocket pings; a peer that has not answered one within the next interval is cut off. */
  keepAliveMs: number;
  /**
   * How often every open connection's token is checked again. Revocations
   * normally arrive at once through pub/sub; this bounds how long a revoked
   * socket can stay open when one did not (the revoking instance could not reach Redis).
   */
  tokenRecheckMs: number;
  logger: Logger;
}

/**
 * One timer for every open socket, rather than graphql-ws's and ws's timers per
 * socket (two or three each for 10,000 sockets). Each turn does what is due:
 * - keep-alive: each socket is pinged once per keep-alive interval, and a peer
 *   that has not answered its previous ping is cut off. The sockets are spread
 *   over KEEPALIVE_SLICES turns, so 10,000 of them are not pinged in one burst
 *   that would hold up every event due meanwhile;
 * - deadlines: connection_init within CONNECTION_INIT_WAIT_MS, and the token's expiry;
 * - the periodic recheck of every connection's token, one batched query at a time.
 * Returns what stops it.
 */
export function startSweep(options: SweepOptions): () => void {
  const { sockets, bindingOf, connections, clock, keepAliveMs, tokenRecheckMs, logger } = options;
  const pingEvery = keepAliveMs / KEEPALIVE_SLICES;
  let slice = 0;
  let nextPing = Date.now() + pingEvery;
  let nextDeadlines = Date.now() + DEADLINE_CHECK_MS;
  let nextRecheck = Date.now() + tokenRecheckMs;
  let rechecking = false;

  const turn = () => {
    const now = Date.now();
    const pinging = now >= nextPing;
    const checking = now >= nextDeadlines;
    if (pinging) {
      slice = (slice + 1) % KEEPALIVE_SLICES;
      nextPing += pingEvery;
    }
    if (checking) nextDeadlines = now + DEADLINE_CHECK_MS;
    if (pinging || checking) {
      const clockNow = clock.now().getTime();
      for (const socket of sockets) {
        const binding = bindingOf(socket);
        if (!binding || socket.readyState !== socket.OPEN) continue;
        if (checking) {
          if (!binding.initReceived) {
            if (now - binding.openedAt >= CONNECTION_INIT_WAIT_MS) socket.terminate();
          } else if (binding.connection) {
            connections.expireAt(binding.connection, clockNow);
          }
        }
        if (!pinging || binding.slice !== slice || socket.readyState !== socket.OPEN) continue;
        if (!binding.alive) {
          socket.terminate();
          continue;
        }
        if (!binding.closeIfNotReading()) binding.ping();
      }
    }
    if (now >= nextRecheck && !rechecking) {
      nextRecheck = now + tokenRecheckMs;
      rechecking = true;
      connections
        .recheckAll()
        .catch((error) => logger.warn({ err: error }, 'checking the tokens of open WebSocket connections failed; will retry'))
        .finally(() => (rechecking = false));
    }
  };
  const timer = setInterval(turn, Math.min(DEADLINE_CHECK_MS, pingEvery));
  timer.unref();
  return () => clearInterval(timer);
}
