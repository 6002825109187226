import { randomBytes } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

// GraphQL over HTTP as a wallet app speaks it, for the tests and the benchmark alike (plain code: no jest in it).

export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: Array<{ message: string; extensions?: Record<string, any>; path?: string[] }> };
}

/**
 * What a test sends: a typed document from operations.generated.ts (the
 * client's operations and the tests' probes), or raw text for a test of what
 * the server does with a malformed or unusual request.
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

/** What the helpers that send operations need of a server: in the test's process (TestServer) or a process of its own. */
export interface GraphQLApi {
  gql: SendOperation;
}

/** The API of the server listening at `baseUrl`, for helpers that take a TestServer. */
export function apiAt(baseUrl: string): GraphQLApi {
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
