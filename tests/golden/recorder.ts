import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { operationText, type Operation } from '../../test-support/graphql-http';

/**
 * Records HTTP exchanges as text, exactly as a client receives them, and
 * compares the text with a committed golden file. The golden files are the
 * proof that a change meant to be invisible (an optimization, a refactoring)
 * did not change a single byte of what clients get.
 *
 * Only values that differ from run to run are replaced: auth tokens (by the
 * name of the device they belong to), request ids and rate-limit waits. Times
 * come from a fixed clock and seeds from fixed inputs (decoys from a fixed
 * SERVER_SECRET), so they are recorded as they are.
 *
 * `GOLDEN_UPDATE=1` (npm run golden:update) rewrites the files instead of
 * comparing: for a commit that changes a response on purpose, which then
 * shows the change in its diff.
 */
export const UPDATING = process.env.GOLDEN_UPDATE === '1';

const GOLDEN_DIR = path.join(__dirname, 'responses');

/**
 * The response headers a client can observe and an optimization of the
 * response path could change. Others (date, keep-alive) vary or belong to the
 * connection, not to the answer.
 */
const RECORDED_HEADERS = ['content-type', 'content-length', 'transfer-encoding', 'cache-control', 'vary', 'retry-after', 'x-request-id'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface GoldenRequest {
  method?: 'GET' | 'POST';
  /** Path and query, e.g. `/graphql`. */
  path?: string;
  headers?: Record<string, string>;
  /** The raw body, sent as it is. */
  body?: string;
}

export interface GoldenResponse {
  status: number;
  text: string;
  /** The body parsed, when it is JSON. */
  json: any;
}

export class GoldenRecorder {
  private readonly entries: string[] = [];
  private readonly secrets = new Map<string, string>();

  constructor(
    readonly name: string,
    private readonly baseUrl: () => string,
  ) {}

  /** From now on `value` is recorded as `<label>`, e.g. a token as `<token:phone>`. */
  redact(value: string, label: string): void {
    this.secrets.set(value, `<${label}>`);
  }

  /** A GraphQL POST as a wallet app sends it. */
  graphql<TVariables>(title: string, operation: Operation<unknown, TVariables>, variables?: TVariables, token?: string): Promise<GoldenResponse> {
    const query = operationText(operation);
    return this.exchange(title, {
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(variables === undefined ? { query } : { query, variables }),
    });
  }

  async exchange(title: string, request: GoldenRequest): Promise<GoldenResponse> {
    const method = request.method ?? 'POST';
    const target = request.path ?? '/graphql';
    const response = await fetch(`${this.baseUrl()}${target}`, { method, headers: request.headers, body: request.body });
    const text = await response.text();
    const lines = [`### ${title}`, `${method} ${target}`];
    for (const [name, value] of Object.entries(request.headers ?? {})) lines.push(`${name}: ${value}`);
    if (request.body !== undefined) lines.push('', abbreviate(request.body));
    lines.push('---', `HTTP ${response.status}`);
    for (const name of RECORDED_HEADERS) {
      const value = response.headers.get(name);
      if (value === null) continue;
      if (name === 'x-request-id') {
        lines.push(`${name}: ${UUID.test(value) ? '<uuid>' : value}`);
      } else {
        lines.push(`${name}: ${value}`);
      }
    }
    lines.push('', text, '');
    this.entries.push(lines.join('\n'));
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json };
  }

  /** Adds already formatted lines (e.g. WebSocket frames). */
  note(title: string, lines: string[]): void {
    this.entries.push([`### ${title}`, ...lines, ''].join('\n'));
  }

  /** The recorded text, compared with (or, when updating, written to) responses/<name>.txt. */
  check(): void {
    // Scrubbed at the end: a token is known only once its login answered.
    const actual = this.scrub(this.entries.join('\n'));
    const file = path.join(GOLDEN_DIR, `${this.name}.txt`);
    if (UPDATING) {
      mkdirSync(GOLDEN_DIR, { recursive: true });
      writeFileSync(file, actual);
      return;
    }
    if (!existsSync(file)) throw new Error(`${file} is missing: record it with npm run golden:update`);
    // toBe on the whole text: jest prints a line diff that names the exchange that changed.
    expect(actual).toBe(readFileSync(file, 'utf8'));
  }

  private scrub(text: string): string {
    let out = text;
    for (const [secret, label] of this.secrets) out = out.split(secret).join(label);
    // rate-limiter waits count down in real time.
    return out.replace(/"retryAfterSeconds":\d+/g, '"retryAfterSeconds":<seconds>').replace(/^retry-after: \d+$/gm, 'retry-after: <seconds>');
  }
}

/** Long request bodies (size-limit cases) are recorded by their length. */
function abbreviate(body: string): string {
  return body.length <= 600 ? body : `${body.slice(0, 120)}… (${Buffer.byteLength(body)} bytes)`;
}
