import { randomBytes } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import pino from 'pino';
import { createApp, type App, type AppOverrides } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createTestDatabase, type TestDatabase } from './database';

/** Cheap argon2 for tests (the production defaults are OWASP's); everything else as in production. */
export const TEST_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'silent',
  ARGON2_MEMORY_KIB: '1024',
  ARGON2_TIME_COST: '1',
  RATE_LIMITS: 'off',
};

export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: Array<{ message: string; extensions?: Record<string, any>; path?: string[] }> };
}

/**
 * What a test sends: a typed document from operations.generated.ts (the
 * operations of operations.graphql), or raw text for a test of what the server
 * does with a malformed or unusual request.
 */
export type Operation<TData = any, TVariables = any> = TypedDocumentNode<TData, TVariables> | string;

/** `document` with its variables unchecked: for a test that sends what the types forbid, to see the server refuse it. */
export const unchecked = <TData>(document: TypedDocumentNode<TData, any>): Operation<TData, Record<string, unknown>> => document;

/** Sends `operation` to `baseUrl` as a wallet app would, with the bearer token when there is one. */
export type SendOperation = <TData = any, TVariables = Record<string, unknown>>(
  operation: Operation<TData, TVariables>,
  variables?: TVariables,
  token?: string,
) => Promise<GraphQLResponse<TData>>;

export interface TestServer {
  app: App;
  url: string;
  database: TestDatabase;
  gql: SendOperation;
  close(): Promise<void>;
}

/** A real server on a random loopback port, on a database of its own. */
export async function startTestServer(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<TestServer> {
  const database = await createTestDatabase();
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: database.url, ...env });
  const app = await createApp(config, { logger: pino({ level: 'silent' }), ...overrides });
  const url = await app.listen();
  return {
    app,
    url,
    database,
    ...apiAt(url),
    async close() {
      await app.close();
      await database.drop();
    },
  };
}

/** The API of the server listening at `baseUrl`, for helpers that take a TestServer. */
export function apiAt(baseUrl: string): Pick<TestServer, 'gql'> {
  return { gql: (operation, variables, token) => postGraphQL(baseUrl, operation, variables, token) };
}

const printed = new WeakMap<object, string>();

/** The text a document goes over the wire as. */
export function operationText(operation: Operation<unknown, never>): string {
  if (typeof operation === 'string') return operation;
  let text = printed.get(operation);
  if (text === undefined) printed.set(operation, (text = print(operation)));
  return text;
}

export async function postGraphQL<TData = any, TVariables = Record<string, unknown>>(
  baseUrl: string,
  operation: Operation<TData, TVariables>,
  variables?: TVariables,
  token?: string,
  /** More request headers, e.g. X-Forwarded-For for a client behind a proxy. */
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<TData>> {
  const query = operationText(operation as Operation<unknown, never>);
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: GraphQLResponse<TData>['body'];
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`non-JSON response ${response.status}: ${text.slice(0, 200)}`);
  }
  return { status: response.status, headers: response.headers, body };
}

/** An address in 10/8 of its own, as X-Forwarded-For sets it: a rate-limit budget no other request has touched. */
export const randomIp = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;

/** The single error code of a response, for table tests. */
export function errorCode(response: GraphQLResponse): string | undefined {
  return response.body.errors?.[0]?.extensions?.code;
}
