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

export interface TestServer {
  app: App;
  url: string;
  database: TestDatabase;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
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
    gql: (query, variables, token) => postGraphQL(url, query, variables, token),
    async close() {
      await app.close();
      await database.drop();
    },
  };
}

export async function postGraphQL<T = any>(
  baseUrl: string,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: GraphQLResponse<T>['body'];
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`non-JSON response ${response.status}: ${text.slice(0, 200)}`);
  }
  return { status: response.status, headers: response.headers, body };
}

/** The single error code of a response, for table tests. */
export function errorCode(response: GraphQLResponse): string | undefined {
  return response.body.errors?.[0]?.extensions?.code;
}
