import { ApolloServer } from '@apollo/server';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { GraphQLFormattedError } from 'graphql';
import pino from 'pino';
import { createApp, type App, type AppOverrides } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createRequestContext, type RequestContext } from '../../src/context';
import { createFormatError } from '../../src/graphql/format-error';
import { createSchema } from '../../src/graphql/schema';
import { TEST_ENV } from '../../test-support/test-env';
import { createTestDatabase, type TestDatabase } from '../../test-support/database';

export interface OperationResult<TData> {
  data?: TData | null;
  errors?: readonly GraphQLFormattedError[];
}

/**
 * Resolver tests as Apollo's docs write them: an ApolloServer over the real
 * schema and the real services (on a database of the test's own), and
 * `server.executeOperation` with the request context a caller would get. No
 * HTTP, so a test reads as "this operation, this caller → this result"; the
 * HTTP and WebSocket suites in tests/api cover the transport.
 */
export interface ResolverTestServer {
  server: ApolloServer<RequestContext>;
  app: App;
  /** Runs a typed document (test-support/operations.generated.ts) as the holder of `token`, or anonymously. */
  execute<TData, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
    caller?: { token?: string; ip?: string },
  ): Promise<OperationResult<TData>>;
  /** What the formatter masked as INTERNAL_SERVER_ERROR, for a test to look at. */
  unexpectedErrors: unknown[];
  close(): Promise<void>;
}

export async function startResolverTestServer(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<ResolverTestServer> {
  const database: TestDatabase = await createTestDatabase();
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: database.url, ...env });
  // createApp is the composition root: the services are the ones the server runs with.
  const app = await createApp(config, { logger: pino({ level: 'silent' }), ...overrides });
  const unexpectedErrors: unknown[] = [];
  const server = new ApolloServer<RequestContext>({
    schema: await createSchema({ config, ...app.services }),
    formatError: createFormatError((error) => unexpectedErrors.push(error)),
  });
  await server.start();
  let requests = 0;
  return {
    server,
    app,
    unexpectedErrors,
    async execute(document, variables, caller = {}) {
      requests += 1;
      const contextValue = createRequestContext(
        app.context,
        { requestId: `resolver-test-${requests}`, ip: caller.ip ?? '127.0.0.1', authorization: caller.token && `Bearer ${caller.token}` },
      );
      const response = await server.executeOperation({ query: document, variables }, { contextValue });
      if (response.body.kind !== 'single') throw new Error('expected a single result');
      return response.body.singleResult as OperationResult<never>;
    },
    async close() {
      await server.stop();
      await app.close();
      await database.drop();
    },
  };
}
