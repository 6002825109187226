import type { IncomingMessage } from 'node:http';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { WebOrigins } from '../config';

/**
 * Web origins (CORS_ORIGINS): which pages on other origins may use the API.
 * Nothing here is a secret guarded by the browser (there are no cookies; a
 * token travels in a header the page sets itself), so CORS only decides which
 * web apps and extensions a browser lets talk to the server; the WebSocket
 * upgrade, which browsers do not subject to CORS, checks the same list.
 */

/** Whether pages on `origin` may use the API. */
export function isListedOrigin(origins: WebOrigins, origin: string): boolean {
  return origins.kind === 'any' || (origins.kind === 'listed' && origins.origins.has(origin));
}

/**
 * @fastify/cors with the answers PROTOCOL.md ("Limits") specifies. Unset, it
 * is not registered at all: no CORS header on any answer, as before.
 */
export async function registerCors(fastify: FastifyInstance, origins: WebOrigins): Promise<void> {
  if (origins.kind === 'none') return;
  await fastify.register(cors, {
    // false for an unlisted origin (or none) makes the plugin add no CORS header at all, preflight headers included.
    origin: (origin, callback) => callback(null, origin !== undefined && isListedOrigin(origins, origin)),
    methods: ['GET', 'POST'],
    allowedHeaders: ['authorization', 'content-type', 'apollo-require-preflight'],
    credentials: false,
    // An OPTIONS from a listed origin without Access-Control-Request-Method is answered like a preflight, not with the plugin's plain-text 400.
    strictPreflight: false,
    // Every JSON POST with a token needs a preflight; without this Chromium re-asks after 5 s, doubling a syncing page's round trips.
    maxAge: 600,
  });
}

/**
 * Whether a WebSocket upgrade may proceed. A native app sends no Origin; a
 * browser always does, and its page may open the socket when it is the
 * server's own (its host is the Host the request came to, or PUBLIC_URL's
 * origin for a proxy that rewrites Host) or listed. The scheme is not
 * compared for the server's own origin: behind a TLS proxy the server sees
 * http for a page on https.
 */
export function upgradeOriginCheck(origins: WebOrigins, publicUrl: string | undefined): (request: IncomingMessage) => boolean {
  const publicOrigin = publicUrl === undefined ? undefined : new URL(publicUrl).origin;
  return (request) => {
    const origin = request.headers.origin;
    if (origin === undefined) return true;
    if (isListedOrigin(origins, origin) || origin === publicOrigin) return true;
    const host = request.headers.host?.toLowerCase();
    return host !== undefined && hostOf(origin) === host;
  };
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
