import { Readable } from 'node:stream';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest } from '@apollo/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Apollo at /graphql on Fastify: what @as-integrations/fastify's route does,
 * minus the per-request work it needs no more than we do. Its adapter parses
 * the whole URL (WHATWG URL, from protocol and host) to take the query string,
 * copies the headers through Object.entries and wraps each request in extra
 * promise hops. Apollo still does everything that decides an answer: CSRF
 * prevention, body and variable checks, content negotiation, limits, error
 * codes and statuses (tests/golden holds the proof, byte for byte).
 */
export function registerGraphQLRoute<Context extends BaseContext>(
  fastify: FastifyInstance,
  apollo: ApolloServer<Context>,
  path: string,
  context: (request: FastifyRequest) => Promise<Context>,
): void {
  apollo.assertStarted('registerGraphQLRoute()');
  fastify.route({
    method: ['GET', 'POST', 'OPTIONS'],
    url: path,
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: toGraphQLRequest(request),
        context: () => context(request),
      });
      for (const [name, value] of response.headers) void reply.header(name, value);
      void reply.code(response.status ?? 200);
      if (response.body.kind === 'complete') return response.body.string;
      return reply.send(Readable.from(response.body.asyncIterator));
    },
  });
}

function toGraphQLRequest(request: FastifyRequest): HTTPGraphQLRequest {
  const headers = new HeaderMap();
  const raw = request.headers;
  for (const name in raw) {
    const value = raw[name];
    if (value) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  // The request target is origin-form ("/graphql?query=…"): its query string is what follows the first "?".
  const url = request.url;
  const question = url.indexOf('?');
  return { method: request.method, headers, search: question < 0 ? '' : url.slice(question), body: request.body };
}
