import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GraphQLError, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { CloseCode, handleProtocols, makeServer, type Context, type WebSocket as GraphqlWsSocket } from 'graphql-ws';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { bearerToken, createRequestContext, type ContextDeps } from '../context';
import { ErrorCode, isDomainError } from '../errors';
import { badRequest } from '../graphql/format-error';
import type { DocumentLimits } from '../graphql/document-limits';
import type { RevocationTarget } from '../events/revocations';
import type { Clock } from '../lib/clock';
import type { Budget } from '../lib/rate-limits';
import type { AuthSession } from '../services/session';

/**
 * Close codes of a live connection, as the graphql-ws client reads them:
 * 4401 (CloseCode.Unauthorized) is final, so a client does not retry with a
 * token that will never work again; it must log in. 1013 and 1001 are retried.
 */
export const SubscriptionCloseCode = {
  /** No, unknown, expired or revoked token: at connection_init, or later when the token is revoked or expires. */
  Unauthorized: CloseCode.Unauthorized,
  /** The token could not be checked (the database did not answer): retry later. */
  TryAgainLater: 1013,
  /** The server is shutting down. */
  GoingAway: 1001,
  /** Over a WebSocket limit: the account's newest connections exceed WS_MAX_CONNECTIONS_PER_ACCOUNT (the oldest goes), or the connection's message budget is spent. */
  TooManyRequests: 4429,
} as const;

/** A connection_init payload and a subscribe message are small; the ws default (100 MiB) would let one socket pin memory. */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** Subscriptions one socket may hold at once; a device needs one. */
const MAX_SUBSCRIPTIONS_PER_CONNECTION = 8;
/** How often every open socket is checked against its deadlines: connection_init, and its token's expiry. */
const DEADLINE_CHECK_MS = 500;
/** A socket that has not sent connection_init by then is closed with 4408 (graphql-ws's default wait). */
const CONNECTION_INIT_WAIT_MS = 3000;
/** The keep-alive sweep handles this many groups of sockets in turn, one group per tenth of WS_KEEPALIVE_MS. */
const KEEPALIVE_SLICES = 10;
/** How long shutdown waits for clients to answer the close frame before cutting them off. */
const CLOSE_GRACE_MS = 2000;

export interface SubscriptionServerDeps {
  schema: GraphQLSchema;
  logger: Logger;
  clock: Clock;
  context: ContextDeps;
  /** Interval of the WebSocket pings; a peer that has not answered one within the next interval is cut off. */
  keepAliveMs: number;
  /** The document limits HTTP applies, applied to every subscribe message too. */
  documentLimits: DocumentLimits;
  maxConnectionsPerAccount: number;
  /** Messages one connection may send per window. */
  messageBudget: Budget;
  /** Which of these tokens still authenticate, without counting as a use; a batched query. */
  stillValid(tokens: readonly string[]): Promise<Set<string>>;
  /**
   * How often every open connection's token is checked again. Revocations
   * normally arrive at once through pub/sub; this bounds how long a revoked
   * socket can stay open when one did not (the revoking instance could not reach Redis).
   */
  tokenRecheckMs: number;
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
}

/** A revocation closes the matching connections whose token no longer authenticates (revoked, or replaced by a new login). */
export interface SubscriptionServer extends RevocationTarget {
  connectionCount(): number;
  close(): Promise<void>;
}

interface LiveConnection {
  token: string;
  session: AuthSession;
  socket: WebSocket;
}

/**
 * One socket as graphql-ws sees it: the transport it sends on and reads from,
 * and its `extra` (only what the hooks below use, not the upgrade request).
 */
class SocketBinding implements GraphqlWsSocket {
  /** Whether the peer answered the last keep-alive ping. */
  alive = true;
  /** Which turn of the keep-alive sweep pings it. */
  readonly slice: number;
  /** When it opened (ms since the epoch), and whether its connection_init came: it has CONNECTION_INIT_WAIT_MS to send one. */
  readonly openedAt = Date.now();
  initReceived = false;
  /** Set once connection_init authenticated it. */
  connection?: LiveConnection;
  /** graphql-ws's handler of the socket's messages. */
  handle?: (data: string) => Promise<void>;
  /** Tells graphql-ws the socket closed. */
  closed?: (code?: number, reason?: string) => Promise<void>;

  /** Messages counted in the budget's current window, and when that window ends (ms since the epoch). */
  private budgetUsed = 0;
  private budgetEnds = 0;

  constructor(
    readonly socket: WebSocket,
    readonly ip: string,
    /** The connection's number on this server; a counter, not a UUID, as a UUID string costs ten times the memory. */
    id: number,
  ) {
    this.slice = id % KEEPALIVE_SLICES;
  }

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): Promise<void> {
    const { socket } = this;
    return new Promise((resolve, reject) => {
      if (socket.readyState !== socket.OPEN) return resolve();
      socket.send(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  onMessage(handle: (data: string) => Promise<void>): void {
    this.handle = handle;
  }

  /**
   * Counts one message against `budget`, in fixed windows that start with a
   * message; false once the window's points are spent. Two numbers on the
   * socket rather than a rate limiter's keyed store, which holds a record and a
   * timer for every open socket.
   */
  spend(budget: Budget, now: number): boolean {
    if (now >= this.budgetEnds) {
      this.budgetEnds = now + budget.durationSeconds * 1000;
      this.budgetUsed = 0;
    }
    this.budgetUsed += 1;
    return this.budgetUsed <= budget.points;
  }
}

type ConnectionContext = Context<Record<string, unknown>, SocketBinding>;

/**
 * graphql-ws on the HTTP server's own port and path (/graphql). A connection
 * authenticates once, with the token in its connection_init payload (never the
 * URL, which ends up in access logs), and is then tracked per account, so a
 * revocation or the token's expiry closes it. Only subscriptions run over the
 * socket: queries and mutations go through HTTP, where the limits and error
 * masking of the HTTP layer apply.
 */
export function attachSubscriptionServer(httpServer: Server, deps: SubscriptionServerDeps): SubscriptionServer {
  const { logger, clock } = deps;
  const byAccount = new Map<number, Set<LiveConnection>>();
  let closing = false;

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, handleProtocols });
  // The listeners below close over nothing: a listener that shared this scope would keep the upgrade request alive as long as the socket.
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroyOnError);
    if (closing) return rejectUpgrade(socket, 503, 'Service Unavailable');
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== '/graphql') return rejectUpgrade(socket, 404, 'Not Found');
    wss.handleUpgrade(request, socket, head, emitConnection);
  };
  function emitConnection(ws: WebSocket, request: IncomingMessage) {
    wss.emit('connection', ws, request);
  }
  httpServer.on('upgrade', onUpgrade);

  const track = (connection: LiveConnection) => {
    let set = byAccount.get(connection.session.accountId);
    if (!set) byAccount.set(connection.session.accountId, (set = new Set()));
    set.add(connection);
    // A Set keeps insertion order: the first ones are the oldest.
    for (const oldest of [...set].slice(0, Math.max(0, set.size - deps.maxConnectionsPerAccount))) {
      untrack(oldest);
      logger.info({ accountId: oldest.session.accountId, limit: deps.maxConnectionsPerAccount }, 'an account opened more WebSocket connections than allowed: the oldest is closed');
      oldest.socket.close(SubscriptionCloseCode.TooManyRequests, 'Too many connections for this account');
    }
  };
  const untrack = (connection: LiveConnection) => {
    const set = byAccount.get(connection.session.accountId);
    set?.delete(connection);
    if (set?.size === 0) byAccount.delete(connection.session.accountId);
  };
  const recheck = async (connection: LiveConnection) => {
    try {
      await deps.context.sessions.authenticate(connection.token);
    } catch (error) {
      if (isUnauthenticated(error)) {
        connection.socket.close(SubscriptionCloseCode.Unauthorized, 'Token revoked');
      } else {
        logger.error({ err: error }, 'checking the token of a live connection failed; closing it');
        connection.socket.close(SubscriptionCloseCode.TryAgainLater, 'Try again later');
      }
    }
  };

  /** Closes every tracked connection whose token stopped working; batched queries, so its cost grows by one statement per 500 connections. */
  const recheckAll = async () => {
    const all = [...byAccount.values()].flatMap((set) => [...set]);
    if (all.length === 0) return;
    const valid = await deps.stillValid([...new Set(all.map((connection) => connection.token))]);
    for (const connection of all) {
      if (valid.has(connection.token)) continue;
      untrack(connection);
      connection.socket.close(SubscriptionCloseCode.Unauthorized, 'Token revoked');
    }
  };
  let rechecking = false;
  const recheckTimer = setInterval(() => {
    if (rechecking || closing) return;
    rechecking = true;
    recheckAll()
      .catch((error) => logger.warn({ err: error }, 'checking the tokens of open WebSocket connections failed; will retry'))
      .finally(() => (rechecking = false));
  }, deps.tokenRecheckMs);
  recheckTimer.unref();

  const formatErrors = (errors: readonly GraphQLError[]) => errors.map((error) => deps.formatError(error.toJSON(), error));

  const graphqlWs = makeServer<Record<string, unknown>, SocketBinding>(
    {
      schema: deps.schema,
      // The wait for connection_init is the deadline sweep's (below): graphql-ws's own timer would stay with every socket.
      connectionInitWaitTimeout: Infinity,
      async onConnect(ctx: ConnectionContext) {
        const { socket } = ctx.extra;
        ctx.extra.initReceived = true;
        const authorization = ctx.connectionParams?.authorization;
        const token = bearerToken(typeof authorization === 'string' ? authorization : undefined);
        if (!token) return refuse(socket);
        let session: AuthSession;
        try {
          session = await deps.context.sessions.authenticate(token);
        } catch (error) {
          if (isUnauthenticated(error)) return refuse(socket);
          logger.error({ err: error }, 'authenticating a WebSocket connection failed');
          socket.close(SubscriptionCloseCode.TryAgainLater, 'Try again later');
          return false;
        }
        // The client may have gone while the token was looked up: then there is nothing to track.
        if (socket.readyState !== socket.OPEN) return false;
        const connection: LiveConnection = { token, session, socket };
        (ctx.extra as { connection?: LiveConnection }).connection = connection;
        track(connection);
        // A revocation published between the look-up above and track() found nothing to close: look once more, now that it would.
        try {
          if (!(await deps.stillValid([token])).has(token)) {
            untrack(connection);
            return refuse(socket);
          }
        } catch (error) {
          untrack(connection);
          logger.error({ err: error }, 'checking a new WebSocket connection\'s token failed');
          socket.close(SubscriptionCloseCode.TryAgainLater, 'Try again later');
          return false;
        }
        return socket.readyState === socket.OPEN;
      },
      onClose(ctx: ConnectionContext) {
        if (ctx.extra.connection) untrack(ctx.extra.connection);
      },
      onSubscribe(ctx: ConnectionContext, _id, payload) {
        if (Object.keys(ctx.subscriptions).length > MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          return [badRequest(`At most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection`)];
        }
        const checked = deps.documentLimits.check(deps.schema, payload.query);
        if ('errors' in checked) {
          // One line per refused document, as HTTP writes one per request: a hundred validation errors are one line, not a hundred stacks.
          logger.info(
            {
              transport: 'websocket',
              accountId: ctx.extra.connection?.session.accountId,
              operationName: payload.operationName?.slice(0, 64),
              outcome: 'error',
              errorCodes: [...new Set(checked.errors.map((error) => String(error.extensions.code)))],
            },
            'graphql subscription refused',
          );
          return checked.errors;
        }
        return { schema: deps.schema, document: checked.document, operationName: payload.operationName, variableValues: payload.variables };
      },
      context(ctx: ConnectionContext) {
        return createRequestContext(deps.context, {
          // Numbered like Fastify's request ids (req-1, req-2, …): a subscription keeps its context for its lifetime, and a UUID string costs ten times the memory.
          requestId: `ws-${(operationsStarted += 1)}`,
          ip: ctx.extra.ip,
          authorization: undefined,
          session: ctx.extra.connection?.session,
        });
      },
      // Only subscriptions are subscribed; this answers queries and mutations sent over the socket.
      execute: () => ({
        errors: [badRequest('Only subscriptions run over WebSocket: send queries and mutations over HTTP')],
      }),
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: formatErrors(result.errors) } : undefined),
      onError: (_ctx, _id, _payload, errors) => formatErrors(errors),
    },
  );

  /**
   * graphql-ws over `ws`, as graphql-ws's own ws adapter wires it, with what
   * 10,000 open sockets need: one keep-alive sweep for all of them instead of
   * two timers each, the message budget in the same listener, nothing of the
   * upgrade request kept but the address, and listeners shared by every socket
   * (each finds its binding), so a socket costs its binding and little else.
   * Errors close with a bare reason.
   */
  const bindings = new WeakMap<WebSocket, SocketBinding>();
  let connectionsOpened = 0;
  let operationsStarted = 0;
  const closeOnError = (binding: SocketBinding, error: unknown, what: string) => {
    logger.error({ err: error }, what);
    binding.close(CloseCode.InternalServerError, 'Internal server error');
  };
  function onSocketMessage(this: WebSocket, data: RawData) {
    const binding = bindings.get(this)!;
    if (!binding.spend(deps.messageBudget, Date.now())) {
      if (this.readyState !== this.OPEN) return;
      logger.info({ limit: 'messages', budget: deps.messageBudget }, 'WebSocket connection over its message budget: closed');
      return this.close(SubscriptionCloseCode.TooManyRequests, 'Too many messages');
    }
    binding.handle?.(String(data)).catch((error: unknown) => closeOnError(binding, error, 'handling a WebSocket message failed'));
  }
  function onSocketPong(this: WebSocket) {
    bindings.get(this)!.alive = true;
  }
  function onSocketError(this: WebSocket, error: Error) {
    closeOnError(bindings.get(this)!, error, 'WebSocket error: closing the connection');
  }
  function onSocketClose(this: WebSocket, code: number, reason: Buffer) {
    void bindings.get(this)!.closed?.(code, String(reason));
  }
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const binding = new SocketBinding(socket, request.socket.remoteAddress ?? '', (connectionsOpened += 1));
    bindings.set(socket, binding);
    socket.on('message', onSocketMessage);
    socket.on('pong', onSocketPong);
    // `on`, not `once`: a socket closes once anyway, and each `once` costs a wrapper and its state per socket.
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    binding.closed = graphqlWs.opened(binding, binding);
  });

  // Each socket is pinged once per keep-alive interval, and a peer that has not answered its previous ping is
  // cut off. The sockets are spread over KEEPALIVE_SLICES turns of the interval, so that 10,000 of them are not
  // pinged in one burst that would hold up every event due meanwhile.
  let slice = 0;
  const keepAlive = setInterval(() => {
    slice = (slice + 1) % KEEPALIVE_SLICES;
    for (const socket of wss.clients) {
      const binding = bindings.get(socket);
      if (!binding || binding.slice !== slice || socket.readyState !== socket.OPEN) continue;
      if (!binding.alive) {
        socket.terminate();
        continue;
      }
      binding.alive = false;
      socket.ping();
    }
  }, deps.keepAliveMs / KEEPALIVE_SLICES);
  keepAlive.unref();

  // Deadlines are checked by one sweep rather than a timer per socket (two timers each for 10,000 sockets). The
  // sweep runs in real time; the clock decides whether a token has expired, so a test clock can move expiry closer.
  const deadlines = setInterval(() => {
    const now = Date.now();
    const clockNow = clock.now().getTime();
    for (const socket of wss.clients) {
      const binding = bindings.get(socket);
      if (!binding || socket.readyState !== socket.OPEN) continue;
      if (!binding.initReceived) {
        if (now - binding.openedAt >= CONNECTION_INIT_WAIT_MS) socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
      } else if (binding.connection && binding.connection.session.expiresAt.getTime() <= clockNow) {
        untrack(binding.connection);
        socket.close(SubscriptionCloseCode.Unauthorized, 'Token expired');
      }
    }
  }, DEADLINE_CHECK_MS);
  deadlines.unref();

  return {
    tokensRevoked({ accountId, deviceId }) {
      for (const connection of byAccount.get(accountId) ?? []) {
        if (deviceId === null || connection.session.deviceId === deviceId) void recheck(connection);
      }
    },
    recheckAll,
    connectionCount: () => wss.clients.size,
    async close() {
      closing = true;
      clearInterval(recheckTimer);
      clearInterval(keepAlive);
      clearInterval(deadlines);
      // Every client gets 1001 and the server waits for their answers; a peer that never answers is cut off.
      const cutOff = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, CLOSE_GRACE_MS);
      try {
        for (const client of wss.clients) client.close(SubscriptionCloseCode.GoingAway, 'Going away');
        await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
      } finally {
        clearTimeout(cutOff);
        httpServer.off('upgrade', onUpgrade);
      }
    },
  };
}

function refuse(socket: WebSocket): false {
  // Closing first makes the code 4401 (Unauthorized); the 4403 graphql-ws sends for `false` then finds the socket closing.
  socket.close(SubscriptionCloseCode.Unauthorized, 'Unauthorized');
  return false;
}

function isUnauthenticated(error: unknown): boolean {
  return isDomainError(error, ErrorCode.Unauthenticated);
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
