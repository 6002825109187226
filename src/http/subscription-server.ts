import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { handleProtocols, makeServer, type Context } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { createRequestContext, type ContextDeps } from '../context';
import { badRequest } from '../graphql/format-error';
import type { DocumentLimits } from '../graphql/document-limits';
import type { RevocationTarget } from '../events/revocations';
import type { Budget } from '../lib/rate-limits';
import type { ObserveOperation } from '../graphql/plugins/observability.plugin';
import { heldSubscriptions, isSubscription, socketOperations } from './socket-operations';
import { LiveConnections, type LiveConnectionsDeps } from './live-connections';
import { budgetKey } from '../lib/client-address';
import { bindSockets, PendingUpgrades, SubscriptionCloseCode, type SocketBinding } from './socket-binding';
import { startSweep, type SweepOptions } from './socket-sweep';

/** A connection_init payload and a subscribe message are small; the ws default (100 MiB) would let one socket pin memory. */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** Subscriptions one socket may hold at once; a device needs one. */
const MAX_SUBSCRIPTIONS_PER_CONNECTION = 8;
/** How long shutdown waits for clients to answer the close frame before cutting them off. */
const CLOSE_GRACE_MS = 2000;

/** What the socket needs besides the registry's and the sweep's settings (see LiveConnections and startSweep). */
export interface SubscriptionServerDeps
  extends Omit<LiveConnectionsDeps, 'sessions'>,
    Pick<SweepOptions, 'clock' | 'keepAliveMs' | 'tokenRecheckMs' | 'logger'> {
  schema: GraphQLSchema;
  context: ContextDeps;
  /** The document limits HTTP applies, applied to every subscribe message too. */
  documentLimits: DocumentLimits;
  /** Messages one connection may send per window; none when rate limits are off. */
  messageBudget: Budget | undefined;
  /** Connections without connection_init one address (IPv4, IPv6 /64) may hold at once; none when rate limits are off. */
  maxPendingPerAddress: number | undefined;
  /** The client's address, as HTTP reads it (X-Forwarded-For only from TRUST_PROXY): the per-IP budgets count it. */
  clientIp(request: IncomingMessage): string;
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  /** Whether the upgrade's Origin may open a socket (CORS_ORIGINS; no Origin: a native app). */
  acceptsOrigin(request: IncomingMessage): boolean;
  /** The one log line and metrics per operation (graphql/plugins/observability.plugin.ts). */
  observe: ObserveOperation;
}

/** A revocation closes the matching connections whose token no longer authenticates (revoked, or replaced by a new login). */
export interface SubscriptionServer extends RevocationTarget {
  connectionCount(): number;
  close(): Promise<void>;
}

type ConnectionContext = Context<Record<string, unknown>, SocketBinding>;

/**
 * graphql-ws on the HTTP server's own port and path (/graphql). A connection
 * authenticates once, with the token in its connection_init payload (never the
 * URL, which ends up in access logs), and is then tracked per account
 * (LiveConnections), so a revocation or the token's expiry closes it. Its
 * device's queries and mutations run over it too (socket-operations.ts), with
 * the limits and error masking of HTTP.
 */
export function attachSubscriptionServer(httpServer: Server, deps: SubscriptionServerDeps): SubscriptionServer {
  const { logger, schema } = deps;
  const connections = new LiveConnections({ ...deps, sessions: deps.context.sessions });
  let closing = false;
  let operationsStarted = 0;
  const requestId = () => `ws-${(operationsStarted += 1)}`;
  const operations = socketOperations(deps);
  const { formatErrors } = operations;

  const graphqlWs = makeServer<Record<string, unknown>, SocketBinding>({
    schema,
    // The wait for connection_init is the sweep's: graphql-ws's own timer would stay with every socket.
    connectionInitWaitTimeout: Infinity,
    async onConnect(ctx: ConnectionContext) {
      ctx.extra.settle();
      ctx.extra.connection = await connections.admit(ctx.extra.socket, ctx.connectionParams?.authorization);
      return ctx.extra.connection !== undefined;
    },
    onClose(ctx: ConnectionContext) {
      if (ctx.extra.connection) connections.release(ctx.extra.connection);
    },
    onSubscribe(ctx: ConnectionContext, _id, payload) {
      const checked = deps.documentLimits.check(schema, payload.query);
      if ('errors' in checked) {
        // One line per refused document, as HTTP writes one per request: a hundred validation errors are one line, not a hundred stacks.
        operations.refusedDocument(requestId(), payload.operationName, ctx.extra.connection?.session.accountId, checked.errors);
        return checked.errors;
      }
      if (isSubscription(checked.document, payload.operationName)) {
        // Queries and mutations in flight do not count: a device may send several at once.
        if (heldSubscriptions(ctx) + ctx.extra.subscribing >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          return [badRequest(`At most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection`)];
        }
        ctx.extra.subscribing += 1;
      }
      return { schema, document: checked.document, operationName: payload.operationName, variableValues: payload.variables };
    },
    context(ctx: ConnectionContext) {
      return createRequestContext(deps.context, {
        // Numbered like Fastify's request ids (req-1, req-2, …): a subscription keeps its context for its lifetime, and a UUID string costs ten times the memory.
        requestId: requestId(),
        ip: ctx.extra.ip,
        authorization: undefined,
        established: ctx.extra.connection,
      });
    },
    onOperation(ctx: ConnectionContext, _id, _payload, args) {
      if (isSubscription(args.document, args.operationName)) ctx.extra.subscribing -= 1;
    },
    execute: (args) => operations.execute(args),
    onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: formatErrors(result.errors) } : undefined),
    onError: (_ctx, _id, _payload, errors) => formatErrors(errors),
  });

  // autoPong off: ws would echo a ping's payload; the binding answers with an empty pong.
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, handleProtocols, autoPong: false });
  const pendingUpgrades = new PendingUpgrades(deps.maxPendingPerAddress);
  const bindingOf = bindSockets(wss, { ...deps, pendingUpgrades, opened: (binding) => graphqlWs.opened(binding, binding) });
  const stopSweep = startSweep({ ...deps, sockets: wss.clients, bindingOf, connections });

  // The listeners below close over nothing: a listener that shared this scope would keep the upgrade request alive as long as the socket.
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroyOnError);
    if (closing) return rejectUpgrade(socket, 503, 'Service Unavailable');
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== '/graphql') return rejectUpgrade(socket, 404, 'Not Found');
    if (!deps.acceptsOrigin(request)) return rejectUpgrade(socket, 403, 'Forbidden');
    if (!pendingUpgrades.admit(socket, budgetKey(deps.clientIp(request)))) {
      deps.logger.info({ limit: 'pending-upgrades', max: deps.maxPendingPerAddress }, 'too many WebSocket connections without connection_init from one address: upgrade refused');
      return rejectUpgrade(socket, 429, 'Too Many Requests');
    }
    socket.on('close', releaseIfUnbound);
    wss.handleUpgrade(request, socket, head, emitConnection);
  };
  function releaseIfUnbound(this: Duplex) {
    pendingUpgrades.dropped(this);
  }
  function emitConnection(ws: WebSocket, request: IncomingMessage) {
    wss.emit('connection', ws, request);
  }
  httpServer.on('upgrade', onUpgrade);

  return {
    tokensRevoked: (event) => connections.tokensRevoked(event),
    recheckAll: () => connections.recheckAll(),
    connectionCount: () => wss.clients.size,
    async close() {
      closing = true;
      stopSweep();
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

function destroyOnError(this: Duplex): void {
  this.destroy();
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
