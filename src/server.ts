import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import type { Config } from './config';
import { createRequestContext, type ContextDeps, type RequestContext } from './context';
import { ErrorCode } from './errors';
import { createFormatError, errorHttpStatusPlugin } from './graphql/format-error';
import { answerClientError, describeHttpError, discardRefusedBody, sendHttpError } from './http/http-errors';
import { registerGraphQLRoute } from './http/graphql-route';
import { attachSubscriptionServer, type SubscriptionServer } from './http/subscription-server';
import { metricsGate } from './http/metrics-gate';
import { registerCors, upgradeOriginCheck } from './http/web-origins';
import { documentLimits } from './graphql/document-limits';
import { observabilityPlugin, operationObserver } from './graphql/plugins/observability.plugin';
import type { RedisHealth } from './events/transport';
import type { Clock } from './lib/clock';
import type { Metrics } from './lib/metrics';

export interface ServerDeps {
  config: Readonly<Config>;
  logger: Logger;
  metrics: Metrics;
  schema: GraphQLSchema;
  context: ContextDeps;
  clock: Clock;
  /** Resolves when the database answers; rejects otherwise. */
  checkReady(): Promise<void>;
  redisHealth(): RedisHealth;
  /** Which of these auth tokens still authenticate (for open WebSocket connections); batched. */
  stillValid(tokens: readonly string[]): Promise<Set<string>>;
}

export interface HttpServer {
  fastify: FastifyInstance;
  apollo: ApolloServer<RequestContext>;
  subscriptions: SubscriptionServer;
}

/** Builds the HTTP server: Apollo on Fastify at /graphql, graphql-ws on the same path, plus /healthz, /readyz and /metrics. */
export async function createHttpServer(deps: ServerDeps): Promise<HttpServer> {
  const { config, logger } = deps;
  const trust = trustedProxies(config.trustProxy);
  const fastify = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Our own request line (below) logs the path without its query string; Fastify's would log the full URL.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
    // X-Forwarded-For is believed only from the proxies the operator named (TRUST_PROXY).
    trustProxy: trust,
    // A client trickling its headers or body would otherwise hold a connection (and a slot of the proxy's) forever.
    requestTimeout: config.requestTimeoutMs,
    http: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.requestTimeoutMs,
      // Node looks for late requests only this often (30 s by default): the 408 comes at most this long after the deadline.
      connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_MS, config.requestTimeoutMs),
    },
    clientErrorHandler(error, socket) {
      const { status, code } = answerClientError(error, socket, config.requestTimeoutMs);
      if (status) logger.info({ status, code }, 'http request refused before parsing');
    },
  });

  const observe = operationObserver(deps.metrics, logger);
  const formatError = createFormatError((error, formatted) =>
    logger.error({ err: error, path: formatted.path }, 'unexpected error while resolving a request'),
  );
  // Batched HTTP requests stay off (Apollo's default); every document is bounded, on HTTP and WebSocket alike.
  const limits = documentLimits(config.graphqlLimits, { suggestions: config.landingPageAndSuggestions });
  const apollo = new ApolloServer<RequestContext>({
    schema: deps.schema,
    introspection: config.introspection,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    validationRules: limits.validationRules,
    parseOptions: limits.parseOptions,
    formatError,
    plugins: [
      ...limits.apolloPlugins,
      observabilityPlugin(observe),
      errorHttpStatusPlugin(),
      fastifyApolloDrainPlugin(fastify),
      ApolloServerPluginUsageReportingDisabled(),
      // The cache-control plugin hooks every field of every request to compute a policy
      // that is always "no-store" here (no cache hints): the onSend hook sets that header.
      ApolloServerPluginCacheControlDisabled(),
      config.landingPageAndSuggestions ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }) : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  // Once closing, answers end their keep-alive connection, so requests in flight finish and the server can stop.
  let closing = false;
  fastify.addHook('preClose', async () => {
    closing = true;
  });
  // Callback-style hooks: an async hook costs every request a promise and a tick for work that is synchronous.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  // GraphQL requests get their own line from the Apollo plugin; probes are logged only at debug.
  fastify.addHook('onResponse', (request, reply, done) => {
    const path = request.url.split('?')[0];
    if (path !== '/graphql' || reply.statusCode >= 400) {
      const fields = { reqId: request.id, method: request.method, path, status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
      if (PROBES.has(path)) request.log.debug(fields, 'http request');
      else request.log.info(fields, 'http request');
    }
    done();
  });

  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, code, message } = describeHttpError(error, config.bodyLimitBytes);
    if (status === 500) request.log.error({ err: error }, 'unexpected error in the HTTP layer');
    // The 413 waits for the rest of the body (within a bound), or the client would be reset mid-upload instead of reading it.
    if (code === ErrorCode.PayloadTooLarge) return discardRefusedBody(request.raw, () => void sendHttpError(reply, status, code, message));
    void sendHttpError(reply, status, code, message);
  });
  fastify.setNotFoundHandler((request, reply) => {
    void sendHttpError(reply, 404, ErrorCode.NotFound, `No route ${request.method} ${request.url.split('?')[0]}`);
  });

  await registerCors(fastify, config.corsOrigins);
  registerGraphQLRoute(fastify, apollo, '/graphql', (request) =>
    Promise.resolve(createRequestContext(deps.context, { requestId: request.id, ip: request.ip, authorization: request.headers.authorization })),
  );

  const subscriptions = attachSubscriptionServer(fastify.server, {
    schema: deps.schema,
    logger,
    clock: deps.clock,
    context: deps.context,
    keepAliveMs: config.wsKeepAliveMs,
    documentLimits: limits,
    maxConnectionsPerAccount: config.wsMaxConnectionsPerAccount,
    // RATE_LIMITS=off lifts it with the per-IP budgets (benchmarks).
    messageBudget: config.rateLimits ? config.wsMessageBudget : undefined,
    maxPendingPerAddress: config.rateLimits ? config.wsMaxPendingPerAddress : undefined,
    clientIp: clientAddress(trust),
    stillValid: deps.stillValid,
    tokenRecheckMs: config.wsTokenRecheckSeconds * 1000,
    formatError,
    acceptsOrigin: upgradeOriginCheck(config.corsOrigins, config.publicUrl),
    observe,
  });

  fastify.get('/healthz', async () => ({ status: 'ok' }));
  // Redis down keeps the instance in rotation: every instance shares that Redis, so failing readiness would take
  // them all out while queries and mutations still work; only live updates between instances pause.
  fastify.get('/readyz', async (request, reply) => {
    const redis = deps.redisHealth();
    try {
      await deps.checkReady();
      return { status: redis === 'down' ? 'degraded' : 'ready', redis };
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable', reason: 'database unreachable', redis });
    }
  });
  const mayReadMetrics = metricsGate(config.metrics);
  if (config.metrics.kind === 'closed') {
    logger.info('/metrics answers 401 on a non-loopback HOST or behind a proxy: set METRICS_TOKEN (or METRICS_PUBLIC=on) to serve it');
  }
  fastify.get('/metrics', async (request, reply) => {
    if (!mayReadMetrics(request.headers.authorization)) {
      const message = config.metrics.kind === 'closed' ? 'Metrics are not served on this address' : 'Send the metrics token as a Bearer token';
      return sendHttpError(reply.header('www-authenticate', 'Bearer'), 401, ErrorCode.Unauthenticated, message);
    }
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return { fastify, apollo, subscriptions };
}

const hopsOf = (hops: number) => (_address: string, hop: number) => hop < hops;

type Trust = boolean | string[] | ((address: string, hop: number) => boolean);

function trustedProxies(trustProxy: Readonly<Config>['trustProxy']): Trust {
  return typeof trustProxy === 'number' ? hopsOf(trustProxy) : trustProxy;
}

/** The client of an upgrade request, as Fastify's request.ip reads it (the same proxy-addr and trust). */
function clientAddress(trust: Trust): (request: IncomingMessage) => string {
  if (trust === false) return (request) => request.socket.remoteAddress ?? '';
  const trusted = trust === true ? () => true : Array.isArray(trust) ? proxyAddr.compile(trust) : trust;
  return (request) => proxyAddr(request, trusted);
}

const TIMEOUT_CHECK_MS = 500;

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);
