import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { parseDatabaseUrl as parseDatabaseUrlOf, type DatabaseConfig } from './db/dialects';
import { normalizeEmail } from './lib/email';
import ipaddr from 'ipaddr.js';
import { LIMITS, type Budget, type Budgets, type LimitName } from './lib/rate-limits';
import type { PasswordHashingConfig } from './lib/password';

/**
 * The only reader of the environment. Everything is read and checked once, at
 * start-up; a bad value stops the start with a message naming the variable.
 */

export type AccountVerificationMode = 'AllowAll' | 'Whitelist' | 'EmailVerify';
export type Environment = 'development' | 'production' | 'test';

export type { DatabaseConfig };

export interface GraphQLLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  maxTokens: number;
}

/**
 * Who may read /metrics: anyone, only a client presenting the token, or nobody
 * (a non-loopback HOST, or TRUST_PROXY not off, with neither a token nor METRICS_PUBLIC=on).
 */
export type MetricsAccess = { kind: 'public' } | { kind: 'token'; token: string } | { kind: 'closed' };

/**
 * Which pages on other origins (a web wallet on its own domain, a browser
 * extension) may call the API and open its WebSocket: none (same-origin pages
 * and native apps only), any, or exactly the listed origins.
 */
export type WebOrigins = { kind: 'none' } | { kind: 'any' } | { kind: 'listed'; origins: ReadonlySet<string> };

/** Which proxies may set X-Forwarded-For: none, any (true), a hop count, or addresses/CIDRs. */
export type TrustProxy = boolean | number | string[];

export interface Config {
  environment: Environment;
  host: string;
  port: number;
  database: DatabaseConfig;
  redisUrl: string | undefined;
  /** Prepended to the Redis pub/sub channels: deployments sharing one Redis keep apart by choosing different ones. */
  redisChannelPrefix: string;
  /** Interval of the WebSocket keep-alive pings; a peer that misses the pong for as long again is cut off. */
  wsKeepAliveMs: number;
  /** Open subscription connections one account may hold on an instance; a new one beyond closes the oldest (4429). */
  wsMaxConnectionsPerAccount: number;
  /** Messages one WebSocket connection may send per window; beyond, it is closed (4429). */
  wsMessageBudget: Budget;
  /** WebSocket connections without connection_init one address (IPv4, IPv6 /64) may hold at once; beyond, the upgrade gets 429. */
  wsMaxPendingPerAddress: number;
  /** How often every open WebSocket's token is checked again: no revoked socket outlives it, even when a revocation's event was lost. */
  wsTokenRecheckSeconds: number;
  accountVerificationMode: AccountVerificationMode;
  accountWhitelist: ReadonlySet<string>;
  smtpUrl: string | undefined;
  mailFrom: string | undefined;
  publicUrl: string | undefined;
  /** A token expires this long after its last use (sliding)… */
  tokenTtlDays: number;
  /** …and at the latest this long after the login that issued it. */
  tokenMaxAgeDays: number;
  verifyTokenTtlHours: number;
  maxWalletBytes: number;
  /** How many of the most recent wallet states keep their content (walletVersion); every state keeps its header. */
  walletVersionsKept: number;
  /** How long the account's security log (accountActivity) keeps an event. */
  activityRetentionDays: number;
  /** Largest HTTP request body accepted; leaves room for JSON escaping around the wallet. */
  bodyLimitBytes: number;
  rateLimits: boolean;
  rateLimitBudgets: Budgets;
  trustProxy: TrustProxy;
  graphqlLimits: GraphQLLimits;
  /** How long a shutdown waits for in-flight requests before giving up. */
  shutdownTimeoutMs: number;
  /** A request (headers and body) must arrive whole within this; a slower one is answered 408 and its connection closed. */
  requestTimeoutMs: number;
  metrics: MetricsAccess;
  /** CORS_ORIGINS: the origins answered with CORS headers, and allowed to open a WebSocket besides the server's own. */
  corsOrigins: WebOrigins;
  serverSecret: string | undefined;
  /** SERVER_NAME: the issuer in TOTP URIs (what an authenticator app shows beside the code), and the relying party's name in passkey prompts. */
  serverName: string;
  /** WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS: the relying party passkeys belong to, and the origins whose ceremonies count. */
  webauthn: WebauthnConfig;
  logLevel: string;
  introspection: boolean;
  /** Apollo's landing page and graphql-js's "Did you mean …?" suggestions: both describe the schema, like introspection. */
  landingPageAndSuggestions: boolean;
  passwordHashing: PasswordHashingConfig;
}

export interface WebauthnConfig {
  /** A registrable domain (or localhost): passkeys are bound to it, and to its subdomains' pages. */
  rpId: string;
  /** Exact origins a registration or assertion may name (clientDataJSON.origin). */
  origins: readonly string[];
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`${variable}: ${detail}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const VERIFICATION_MODES: readonly AccountVerificationMode[] = ['AllowAll', 'Whitelist', 'EmailVerify'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads the configuration from `env` (process.env by default) and freezes it. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const environment = parseEnvironment(read('NODE_ENV'));
  const host = read('HOST') ?? '127.0.0.1';
  const port = integer(read, 'PORT', 8090, 0, 65535);
  const maxWalletBytes = integer(read, 'MAX_WALLET_BYTES', 1_000_000, 1, 64 * 1024 * 1024);
  const trustProxy = parseTrustProxy(read('TRUST_PROXY'));
  // A proxy in front forwards strangers to a loopback bind: behind one, the server is as exposed as on a public address.
  const exposed = !isLoopback(host) || trustProxy !== false;
  const accountVerificationMode = parseMode(read('ACCOUNT_VERIFICATION_MODE'), host, exposed);
  // Whoever can reach an exposed server may be a stranger: the schema is not described to them unless asked for, whatever NODE_ENV says.
  const schemaShown = optionalOnOff(read, 'INTROSPECTION');
  const accountWhitelist = parseWhitelist(read('ACCOUNT_WHITELIST'));
  if (accountVerificationMode === 'Whitelist' && accountWhitelist.size === 0) {
    throw new ConfigError('ACCOUNT_WHITELIST', 'Whitelist mode needs at least one email (comma separated, no spaces)');
  }

  const config: Config = {
    environment,
    host,
    port,
    database: parseDatabaseUrl(read('DATABASE_URL')),
    redisUrl: optionalUrl(read, 'REDIS_URL', ['redis:', 'rediss:']),
    redisChannelPrefix: parseChannelPrefix(read('REDIS_CHANNEL_PREFIX')),
    wsKeepAliveMs: integer(read, 'WS_KEEPALIVE_MS', 12_000, 100, 10 * 60 * 1000),
    wsMaxConnectionsPerAccount: integer(read, 'WS_MAX_CONNECTIONS_PER_ACCOUNT', 20, 1, 10_000),
    wsMessageBudget: budget(read, 'WS_MESSAGE_BUDGET') ?? { points: 600, durationSeconds: 60 },
    wsMaxPendingPerAddress: integer(read, 'WS_MAX_PENDING_PER_IP', 50, 1, 100_000),
    wsTokenRecheckSeconds: integer(read, 'WS_TOKEN_RECHECK_SECONDS', 60, 1, 86_400),
    accountVerificationMode,
    accountWhitelist,
    smtpUrl: optionalUrl(read, 'SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: read('MAIL_FROM'),
    publicUrl: optionalUrl(read, 'PUBLIC_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
    tokenTtlDays: integer(read, 'TOKEN_TTL_DAYS', 14, 1, 3650),
    tokenMaxAgeDays: integer(read, 'TOKEN_MAX_AGE_DAYS', 365, 1, 36500),
    verifyTokenTtlHours: integer(read, 'VERIFY_TOKEN_TTL_HOURS', 48, 1, 24 * 365),
    maxWalletBytes,
    walletVersionsKept: integer(read, 'WALLET_VERSIONS_KEPT', 10, 0, 1000),
    activityRetentionDays: integer(read, 'ACTIVITY_RETENTION_DAYS', 90, 1, 3650),
    bodyLimitBytes: integer(read, 'BODY_LIMIT_BYTES', 2 * maxWalletBytes + 64 * 1024, 1024, 512 * 1024 * 1024),
    rateLimits: onOff(read, 'RATE_LIMITS', true),
    rateLimitBudgets: parseBudgets(read),
    trustProxy,
    graphqlLimits: {
      maxDepth: integer(read, 'GRAPHQL_MAX_DEPTH', 8, 1, 100),
      maxAliases: integer(read, 'GRAPHQL_MAX_ALIASES', 10, 0, 1000),
      maxCost: integer(read, 'GRAPHQL_MAX_COST', 2000, 1, 1_000_000),
      maxTokens: integer(read, 'GRAPHQL_MAX_TOKENS', 1000, 10, 1_000_000),
    },
    shutdownTimeoutMs: integer(read, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    requestTimeoutMs: integer(read, 'REQUEST_TIMEOUT_MS', 30_000, 1000, 600_000),
    metrics: parseMetricsAccess(read, exposed),
    corsOrigins: parseCorsOrigins(read('CORS_ORIGINS')),
    serverSecret: parseServerSecret(read('SERVER_SECRET')),
    serverName: parseServerName(read('SERVER_NAME')),
    webauthn: parseWebauthn(read, port),
    logLevel: oneOf(read, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    introspection: schemaShown ?? (!exposed && environment !== 'production'),
    landingPageAndSuggestions: schemaShown ?? (!exposed && environment === 'development'),
    passwordHashing: {
      memoryKib: integer(read, 'ARGON2_MEMORY_KIB', 19_456, 64, 4 * 1024 * 1024),
      timeCost: integer(read, 'ARGON2_TIME_COST', 2, 1, 100),
      parallelism: integer(read, 'ARGON2_PARALLELISM', 1, 1, 16),
      maxConcurrent: integer(read, 'ARGON2_MAX_CONCURRENT', defaultArgon2Concurrency(), 1, 256),
      maxQueued: integer(read, 'ARGON2_MAX_QUEUED', 64, 0, 100_000),
    },
  };
  if (config.accountVerificationMode === 'EmailVerify') {
    const missing = (['SMTP_URL', 'MAIL_FROM', 'PUBLIC_URL'] as const).filter((name) => read(name) === undefined);
    if (missing.length > 0) throw new ConfigError(missing.join(', '), 'must be set in EmailVerify mode (verification emails carry links)');
  }
  return Object.freeze(config);
}

function parseEnvironment(value: string | undefined): Environment {
  if (value === undefined || value === 'development') return 'development';
  if (value === 'production' || value === 'test') return value;
  throw new ConfigError('NODE_ENV', `must be development, production or test, got "${value}"`);
}

function parseMode(value: string | undefined, host: string, exposed: boolean): AccountVerificationMode {
  if (value === undefined) {
    // The safe default: an open registration is only acceptable where nobody else can reach the server.
    if (!exposed) return 'AllowAll';
    const where = isLoopback(host) ? 'behind a proxy (TRUST_PROXY is not off)' : `when HOST is not a loopback address (HOST=${host})`;
    throw new ConfigError('ACCOUNT_VERIFICATION_MODE', `must be set (AllowAll, Whitelist or EmailVerify) ${where}`);
  }
  const mode = VERIFICATION_MODES.find((m) => m === value);
  if (!mode) throw new ConfigError('ACCOUNT_VERIFICATION_MODE', `must be one of ${VERIFICATION_MODES.join(', ')}, got "${value}"`);
  return mode;
}

/** Only this machine can reach a server bound here; anything else (0.0.0.0 and :: included) may face strangers. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.replace(/^\[|\]$/g, '');
  // process() reads ::ffff:127.0.0.1 as 127.0.0.1.
  return isIP(bare) !== 0 && ipaddr.process(bare).range() === 'loopback';
}

function parseWhitelist(value: string | undefined): ReadonlySet<string> {
  if (value === undefined) return new Set();
  const emails = value.split(',');
  for (const email of emails) {
    if (!/^[^\s@,]+@[^\s@,]+$/.test(email)) {
      throw new ConfigError('ACCOUNT_WHITELIST', `"${email}" is not an email (comma separated, no spaces)`);
    }
  }
  return new Set(emails.map(normalizeEmail));
}

/** DATABASE_URL's syntax; also how the admin command reads the URL of migrate-to's target. */
export function parseDatabaseUrl(value: string | undefined): DatabaseConfig {
  try {
    return parseDatabaseUrlOf(value);
  } catch (error) {
    throw new ConfigError('DATABASE_URL', (error as Error).message);
  }
}

function optionalUrl(read: (n: string) => string | undefined, name: string, protocols: string[]): string | undefined {
  const value = read(name);
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(url.protocol)) throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  return value;
}

/** RATE_LIMIT_LOGIN_PER_IP=30/60: at most 30 per 60 seconds. */
/**
 * argon2 hashes run on the libuv threadpool, each keeping a core busy for tens
 * of milliseconds: as many at once as there are cores would leave the event
 * loop (every read and write) waiting behind a login storm. One core stays
 * with the event loop; a single-core machine still hashes one at a time.
 */
export function defaultArgon2Concurrency(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

function parseBudgets(read: (n: string) => string | undefined): Budgets {
  const budgets = { ...LIMITS } as Budgets;
  for (const name of Object.keys(LIMITS) as LimitName[]) {
    const variable = `RATE_LIMIT_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    budgets[name] = budget(read, variable) ?? budgets[name];
  }
  return budgets;
}

/** points/seconds, e.g. 10/60: at most 10 per 60 seconds. */
function budget(read: (n: string) => string | undefined, variable: string): Budget | undefined {
  const value = read(variable);
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
    throw new ConfigError(variable, `must be points/seconds with both at least 1, e.g. 10/60, got "${value}"`);
  }
  return { points: Number(match[1]), durationSeconds: Number(match[2]) };
}

function parseTrustProxy(value: string | undefined): TrustProxy {
  if (value === undefined || value === 'off' || value === 'false') return false;
  if (value === 'on' || value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value.split(',');
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    if (isIP(address) === 0 || (bits !== undefined && !/^\d{1,3}$/.test(bits))) {
      throw new ConfigError('TRUST_PROXY', `must be off, on, a hop count, or comma-separated addresses/CIDRs, got "${entry}"`);
    }
  }
  return entries;
}

/**
 * Origins are compared byte for byte with the Origin header, so each must be
 * written as a browser sends it: a typo, a trailing slash or a wildcard would
 * otherwise match nothing and fail silently in every user's browser.
 */
function parseCorsOrigins(value: string | undefined): WebOrigins {
  if (value === undefined) return { kind: 'none' };
  if (value === '*') return { kind: 'any' };
  const origins = value.split(',');
  for (const origin of origins) {
    if (origin.includes('*') || origin !== exactOrigin(origin)) {
      throw new ConfigError(
        'CORS_ORIGINS',
        `"${origin}" is not an origin as a browser sends it: scheme://host[:port] in lower case, no path, no trailing slash, no wildcard ` +
          '(e.g. https://wallet.example.com,chrome-extension://<id>), comma separated with no spaces, or * alone',
      );
    }
  }
  return { kind: 'listed', origins: new Set(origins) };
}

/** The origin a browser sends for a page at `value`, or undefined when `value` names none. */
function exactOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.host === '' || url.username !== '' || url.password !== '') return undefined;
  // WHATWG URL gives extension schemes (chrome-extension:, moz-extension:) an opaque origin, "null"; browsers send scheme://host for them.
  return url.origin === 'null' ? `${url.protocol}//${url.host}` : url.origin;
}

const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * The relying party and its origins (PROTOCOL.md "Configuration"). Browsers
 * refuse a ceremony whose RP ID is an IP address or not the page's own domain
 * (or a parent of it), so such a setting would fail in every user's browser:
 * it stops the start instead. Defaults: PUBLIC_URL's host and origin (a
 * development server without one: localhost and http://localhost:PORT), plus
 * the CORS_ORIGINS a browser can use with that RP ID (extensions, and pages
 * on its domain); WEBAUTHN_ORIGINS set explicitly must all qualify.
 */
function parseWebauthn(read: (n: string) => string | undefined, port: number): WebauthnConfig {
  const publicUrl = read('PUBLIC_URL');
  const given = read('WEBAUTHN_RP_ID');
  const rpId = given ?? (publicUrl === undefined ? 'localhost' : new URL(publicUrl).hostname);
  if (!DOMAIN.test(rpId) || /^[\d.]+$/.test(rpId)) {
    const source = given === undefined ? `PUBLIC_URL's host "${rpId}" cannot be the default: set WEBAUTHN_RP_ID` : `"${rpId}"`;
    throw new ConfigError('WEBAUTHN_RP_ID', `${source}: must be a domain name in lower case (e.g. wallet.example.com or localhost), not an IP address, scheme, port or path`);
  }
  const belongs = (origin: string) => {
    const url = new URL(origin);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return true;
    return url.hostname === rpId || url.hostname.endsWith(`.${rpId}`);
  };
  const listed = read('WEBAUTHN_ORIGINS');
  if (listed !== undefined) {
    const origins = listed.split(',');
    for (const origin of origins) {
      if (origin !== exactOrigin(origin)) {
        throw new ConfigError('WEBAUTHN_ORIGINS', `"${origin}" is not an origin as a browser sends it: scheme://host[:port] in lower case, no path, no trailing slash (comma separated, no spaces)`);
      }
      if (!belongs(origin)) throw new ConfigError('WEBAUTHN_ORIGINS', `"${origin}" is not on ${rpId} or a subdomain of it (WEBAUTHN_RP_ID): browsers would refuse its passkeys`);
    }
    return { rpId, origins };
  }
  const own = publicUrl === undefined ? `http://localhost:${port}` : new URL(publicUrl).origin;
  const cors = read('CORS_ORIGINS');
  const extra = cors === undefined || cors === '*' ? [] : cors.split(',').filter((origin) => exactOrigin(origin) === origin && belongs(origin));
  return { rpId, origins: [...new Set([own, ...extra])] };
}

function parseChannelPrefix(value: string | undefined): string {
  if (value === undefined) return 'wallet-sync:';
  if (!/^[A-Za-z0-9:._-]{1,64}$/.test(value)) {
    throw new ConfigError('REDIS_CHANNEL_PREFIX', 'must be 1 to 64 characters among letters, digits and : . _ -');
  }
  return value;
}

function parseServerName(value: string | undefined): string {
  if (value === undefined) return 'Wallet Sync';
  // The issuer is written into the otpauth URI's label, where a colon separates issuer from account.
  if (value.length > 64 || value.includes(':') || /\p{Cc}/u.test(value)) {
    throw new ConfigError('SERVER_NAME', 'must be at most 64 characters, without a colon or control characters');
  }
  return value;
}

function parseServerSecret(value: string | undefined): string | undefined {
  if (value !== undefined && value.length < 32) throw new ConfigError('SERVER_SECRET', 'must be at least 32 characters');
  return value;
}

function integer(read: (n: string) => string | undefined, name: string, fallback: number, min: number, max: number): number {
  const value = read(name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new ConfigError(name, `must be a whole number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/**
 * /metrics tells how busy the server is and which errors it answers: on a
 * non-loopback bind or behind a proxy it is closed unless a token is set or it is made public on
 * purpose. Closed rather than refusing to start: the server itself is useful
 * without metrics, and a scraper's 401 says what is missing.
 */
function parseMetricsAccess(read: (n: string) => string | undefined, exposed: boolean): MetricsAccess {
  const token = read('METRICS_TOKEN');
  const isPublic = onOff(read, 'METRICS_PUBLIC', false);
  if (token !== undefined && !/^[A-Za-z0-9._~+/-]{16,512}=*$/.test(token)) {
    throw new ConfigError('METRICS_TOKEN', 'must be 16 to 512 characters among letters, digits and - . _ ~ + / (a bearer token)');
  }
  if (token !== undefined && isPublic) throw new ConfigError('METRICS_PUBLIC', 'cannot be on while METRICS_TOKEN is set: choose one');
  if (isPublic) return { kind: 'public' };
  if (token !== undefined) return { kind: 'token', token };
  return exposed ? { kind: 'closed' } : { kind: 'public' };
}

function onOff(read: (n: string) => string | undefined, name: string, fallback: boolean): boolean {
  return optionalOnOff(read, name) ?? fallback;
}

function optionalOnOff(read: (n: string) => string | undefined, name: string): boolean | undefined {
  const value = read(name);
  if (value === undefined) return undefined;
  if (value === 'on' || value === 'true' || value === '1') return true;
  if (value === 'off' || value === 'false' || value === '0') return false;
  throw new ConfigError(name, `must be on or off, got "${value}"`);
}

function oneOf(read: (n: string) => string | undefined, name: string, allowed: string[], fallback: string): string {
  const value = read(name);
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${value}"`);
  return value;
}
