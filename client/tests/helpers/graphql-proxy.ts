import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One GraphQL request through the proxy, as a rule sees it. */
export interface ProxiedRequest {
  operationName: string | undefined;
  variables: Record<string, any>;
  /** The bearer token, so a rule can tell one device from another. */
  token: string | undefined;
}

/**
 * What a rule does with a request: `answer` replies without asking the server;
 * `rewrite` lets the request through and changes the server's answer. Return
 * undefined to pass the request through untouched.
 */
export type ProxyRule = (request: ProxiedRequest) =>
  | { answer: unknown }
  | { rewrite(body: any): any }
  | undefined
  | Promise<{ answer: unknown } | { rewrite(body: any): any } | undefined>;

/**
 * An HTTP proxy in front of a real server that can lie: show one device
 * another answer than the server gave (an older state, altered or missing
 * headers, an upload that never reached the server). What a compromised or
 * broken server, or a man in the middle with the TLS key, could do.
 */
export interface GraphQLProxy {
  url: string;
  /** The server requests go to; can be changed (a restarted server on another port). */
  target: string;
  rule: ProxyRule | null;
  close(): Promise<void>;
}

export async function startGraphQLProxy(target: string): Promise<GraphQLProxy> {
  const proxy: GraphQLProxy = { url: '', target, rule: null, close: async () => undefined };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void relay(proxy, request, Buffer.concat(chunks)).then(
        ({ status, body, contentType }) => {
          response.writeHead(status, { 'content-type': contentType });
          response.end(body);
        },
        (error: unknown) => {
          // The server is down (a restart in progress): the client must see a failed connection, not an answer.
          void error;
          request.socket.destroy();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

async function relay(proxy: GraphQLProxy, request: http.IncomingMessage, raw: Buffer): Promise<{ status: number; body: string; contentType: string }> {
  const authorization = request.headers.authorization;
  let parsed: { query?: string; operationName?: string; variables?: Record<string, any> } = {};
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    // Not JSON: passed through for the server to refuse.
  }
  const operationName = parsed.operationName ?? /(?:query|mutation)\s+(\w+)/.exec(parsed.query ?? '')?.[1];
  const action = await proxy.rule?.({ operationName, variables: parsed.variables ?? {}, token: authorization?.replace(/^Bearer /, '') });
  if (action && 'answer' in action) return { status: 200, body: JSON.stringify(action.answer), contentType: 'application/json' };
  const headers: Record<string, string> = { 'content-type': request.headers['content-type'] ?? 'application/json' };
  if (authorization) headers.authorization = authorization;
  const upstream = await fetch(`${proxy.target}${request.url}`, { method: request.method, headers, body: raw.length ? raw : undefined });
  const text = await upstream.text();
  const contentType = upstream.headers.get('content-type') ?? 'application/json';
  if (!action) return { status: upstream.status, body: text, contentType };
  return { status: upstream.status, body: JSON.stringify(action.rewrite(JSON.parse(text))), contentType };
}
