import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode } from 'graphql';
import { CloseCode, createClient, type Client, type ExecutionResult, type Sink } from 'graphql-ws';
import { ClientErrorCode, ServerErrorCode, WalletSyncError, fromGraphQLErrors } from '../client.errors';

export interface ReconnectBackoff {
  /** Delay before the first reconnection attempt. Default 500 ms. */
  initialDelayMs?: number;
  /** The delay doubles per failed attempt up to this. Default 30 s. */
  maxDelayMs?: number;
}

/**
 * A device's authenticated graphql-ws connection, for its queries and
 * mutations (protocol 3, "Operations over the live connection").
 */
export interface LiveConnection {
  /**
   * Runs the operation over the connection as its session, or answers null at
   * once when the connection is not up or authenticated with another token
   * than `token`. Rejects with LiveConnectionLost when the connection drops
   * before the result came (the caller may send it again over HTTP), and with
   * the server's WalletSyncError for an error result.
   */
  execute<R, V>(document: TypedDocumentNode<R, V>, variables: V, token: string): Promise<R> | null;
}

export interface LiveSocketHandlers {
  /** The WebSocket is (again) connected and acknowledged; `reconnected` after a drop. */
  onConnected(reconnected: boolean): void;
  /** The connection closed for good: the server refused the auth token (UNAUTHENTICATED), or a close graphql-ws does not retry. */
  onClosed(error: WalletSyncError): void;
}

/** One graphql-ws connection: the operations of a device and the subscriptions it keeps. */
export interface LiveSocket extends LiveConnection {
  /** The token the current (or last) connection authenticated with. */
  authToken(): string | null;
  /** Up and acknowledged now. */
  connected(): boolean;
  /** A subscription that graphql-ws subscribes again on every reconnection (none after dispose()); the returned function ends it. */
  subscribe<R>(document: DocumentNode, variables: Record<string, unknown>, sink: Sink<ExecutionResult<R>>): () => void;
  /** The reconnection backoff's delay for attempt `retries`, cut short by dispose(). */
  pause(retries: number): Promise<void>;
  dispose(): Promise<void>;
}

/** The live connection dropped while an operation was in flight: whether the server ran it is unknown. */
export class LiveConnectionLost extends Error {
  constructor(readonly reason: unknown) {
    super('The live connection dropped before the result came');
  }
}

const printedDocuments = new WeakMap<DocumentNode, string>();

/** A document's text, printed once. */
function printed(document: DocumentNode): string {
  let text = printedDocuments.get(document);
  if (text === undefined) printedDocuments.set(document, (text = print(document)));
  return text;
}

const AUTH_CLOSE_CODES: number[] = [CloseCode.Unauthorized, CloseCode.Forbidden];

/** ws:// or wss:// for the GraphQL endpoint's http:// or https://. */
export function webSocketEndpoint(endpoint: URL): string {
  const url = new URL(endpoint.toString());
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/**
 * Opens a device's graphql-ws connection at once and keeps it, subscriptions
 * or not. graphql-ws does the reconnecting (with our capped, jittered backoff
 * instead of its unbounded one) and subscribes the kept subscriptions again.
 * The auth token is read at every (re)connect. A refused token is not retried
 * (4401 is final in graphql-ws): onClosed says so, and only a new login can
 * fix it.
 */
export function openLiveSocket(
  url: string,
  authToken: () => string | null,
  handlers: LiveSocketHandlers,
  backoff: ReconnectBackoff,
  webSocketImpl: unknown,
): LiveSocket {
  const initialDelayMs = backoff.initialDelayMs ?? 500;
  const maxDelayMs = backoff.maxDelayMs ?? 30_000;
  const disposed = new AbortController();
  let connectedWith: string | null = null;
  /** The token of the connection that is up and acknowledged now; null while there is none. */
  let liveWith: string | null = null;
  /**
   * The operations in flight, each ended when the connection closes: graphql-ws would send them again on the next
   * connection, however long that takes, while the device can send them over HTTP at once.
   */
  const inFlight = new Set<(reason: unknown) => void>();

  const pause = async (retries: number) => {
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** retries);
    // Jitter spreads the reconnections of many devices after a server restart.
    await sleep(delay / 2 + Math.random() * (delay / 2), disposed.signal);
  };

  const client: Client = createClient({
    url,
    webSocketImpl,
    // Held whether or not anything is subscribed: the device's operations use it too.
    lazy: false,
    onNonLazyError: (error) => {
      if (!disposed.signal.aborted) handlers.onClosed(toWalletSyncError(error));
    },
    connectionParams: () => {
      connectedWith = authToken();
      return { authorization: `Bearer ${connectedWith ?? ''}` };
    },
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: pause,
    shouldRetry: (errorOrClose) => !isAuthClose(errorOrClose),
    on: {
      connected: (_socket, _payload, wasRetry) => {
        liveWith = connectedWith;
        handlers.onConnected(Boolean(wasRetry));
      },
      closed: (event) => {
        liveWith = null;
        for (const abandon of [...inFlight]) abandon(event);
      },
    },
  });

  return {
    authToken: () => connectedWith,
    connected: () => liveWith !== null,
    pause,
    // graphql-ws would open a new socket for a subscription after dispose().
    subscribe: (document, variables, sink) => (disposed.signal.aborted ? () => undefined : client.subscribe({ query: printed(document), variables }, sink)),
    execute<R, V>(document: TypedDocumentNode<R, V>, variables: V, token: string): Promise<R> | null {
      if (disposed.signal.aborted || liveWith === null || liveWith !== token) return null;
      return new Promise<R>((resolve, reject) => {
        let result: ExecutionResult<R> | undefined;
        const settle = (outcome: () => void) => {
          inFlight.delete(abandon);
          outcome();
        };
        const cancel = client.subscribe<R>(
          { query: printed(document), variables: variables as Record<string, unknown> },
          {
            next: (value) => (result = value as ExecutionResult<R>),
            // An array is the server's `error` message (the operation was refused); anything else is the connection.
            error: (error) => settle(() => reject(Array.isArray(error) ? fromGraphQLErrors(error) : new LiveConnectionLost(error))),
            complete: () =>
              settle(() => {
                if (result?.errors?.length) reject(fromGraphQLErrors(result.errors));
                else if (result?.data) resolve(result.data);
                else reject(new LiveConnectionLost('completed without a result'));
              }),
          },
        );
        const abandon = (reason: unknown) =>
          settle(() => {
            cancel();
            reject(new LiveConnectionLost(reason));
          });
        inFlight.add(abandon);
      });
    },
    async dispose() {
      disposed.abort();
      liveWith = null;
      // graphql-ws's dispose() awaits the pending connection attempt and rejects when that attempt fails
      // (server unreachable): there is no socket to close then, and stopping must not fail.
      await Promise.resolve(client.dispose()).catch(() => undefined);
    },
  };
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

function isAuthClose(errorOrClose: unknown): boolean {
  return typeof errorOrClose === 'object' && errorOrClose !== null && AUTH_CLOSE_CODES.includes((errorOrClose as { code?: number }).code ?? 0);
}

export function toWalletSyncError(error: unknown): WalletSyncError {
  if (Array.isArray(error)) return fromGraphQLErrors(error);
  if (isAuthClose(error)) {
    const reason = (error as { reason?: string }).reason;
    // The token is gone for good (revoked, expired, a password change): retrying cannot help, logging in can.
    return new WalletSyncError(ServerErrorCode.Unauthenticated, `The server refused this device's auth token for its live connection${reason ? `: ${reason}` : ''}; log in again`);
  }
  if (typeof error === 'object' && error !== null && 'code' in error && 'reason' in error) {
    const { code, reason } = error as { code: number; reason: string };
    return new WalletSyncError(ClientErrorCode.Network, `The live connection closed (${code}${reason ? `: ${reason}` : ''})`);
  }
  return new WalletSyncError(ClientErrorCode.Network, `The live connection failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}
