import { availableParallelism } from 'node:os';
import { ConfigError, defaultArgon2Concurrency, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('when nothing is set, then it serves SQLite on 127.0.0.1:8090 in AllowAll with the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8090,
      database: { dialect: 'sqlite' },
      accountVerificationMode: 'AllowAll',
      tokenTtlDays: 14,
      verifyTokenTtlHours: 48,
      maxWalletBytes: 1_000_000,
      walletVersionsKept: 10,
      activityRetentionDays: 90,
      rateLimits: true,
      logLevel: 'info',
      serverName: 'Wallet Sync',
      webauthn: { rpId: 'localhost', origins: ['http://localhost:8090'] },
      passwordHashing: { memoryKib: 19_456, timeCost: 2, parallelism: 1 },
    });
    expect(config.rateLimitBudgets.secondFactorFailuresPerAccount).toEqual({ points: 10, durationSeconds: 900 });
    expect(config.database.url).toMatch(/data[/\\]wallet-sync\.sqlite$/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [1, 1],
    [2, 1],
    [4, 3],
    [16, 15],
  ])('when the machine has %i cores, then argon2 runs %i hashes at once by default (one core stays with the event loop)', (cores, expected) => {
    expect(defaultArgon2Concurrency(cores)).toBe(expected);
  });

  it('when ARGON2_MAX_CONCURRENT is unset, then the cap is this machine\'s cores − 1; when set, it is taken as given', () => {
    expect(loadConfig({}).passwordHashing.maxConcurrent).toBe(Math.max(1, availableParallelism() - 1));
    expect(loadConfig({ ARGON2_MAX_CONCURRENT: '7' }).passwordHashing.maxConcurrent).toBe(7);
  });

  it.each([
    ['mysql://u:p@db:3306/wallets', { dialect: 'mysql', url: 'mysql://u:p@db:3306/wallets' }],
    ['mariadb://u:p@db:3306/wallets', { dialect: 'mysql', url: 'mysql://u:p@db:3306/wallets' }],
    ['postgres://u:p@db:5432/wallets', { dialect: 'postgres', url: 'postgres://u:p@db:5432/wallets' }],
    ['postgresql://u:p@db/wallets', { dialect: 'postgres', url: 'postgresql://u:p@db/wallets' }],
  ])('when DATABASE_URL is %s, then the dialect and URL are %o', (url, database) => {
    expect(loadConfig({ DATABASE_URL: url }).database).toEqual(database);
  });

  it.each([
    ['localhost'],
    ['127.0.0.2'],
    ['::1'],
  ])('when HOST=%s (loopback) and no mode is set, then the mode is AllowAll', (host) => {
    expect(loadConfig({ HOST: host }).accountVerificationMode).toBe('AllowAll');
  });

  it.each<[string, Record<string, string>]>([
    ['ACCOUNT_VERIFICATION_MODE', { HOST: '0.0.0.0' }],
    ['ACCOUNT_VERIFICATION_MODE', { HOST: '10.1.2.3', ACCOUNT_VERIFICATION_MODE: '' }],
    ['ACCOUNT_VERIFICATION_MODE', { TRUST_PROXY: 'on' }],
    ['ACCOUNT_VERIFICATION_MODE', { HOST: '::1', TRUST_PROXY: '1' }],
    ['ACCOUNT_VERIFICATION_MODE', { TRUST_PROXY: '127.0.0.1' }],
    ['ACCOUNT_VERIFICATION_MODE', { ACCOUNT_VERIFICATION_MODE: 'allowall' }],
    ['ACCOUNT_WHITELIST', { ACCOUNT_VERIFICATION_MODE: 'Whitelist' }],
    ['ACCOUNT_WHITELIST', { ACCOUNT_VERIFICATION_MODE: 'Whitelist', ACCOUNT_WHITELIST: 'a@example.com, b@example.com' }],
    ['SMTP_URL, MAIL_FROM, PUBLIC_URL', { ACCOUNT_VERIFICATION_MODE: 'EmailVerify' }],
    ['PUBLIC_URL', { ACCOUNT_VERIFICATION_MODE: 'EmailVerify', SMTP_URL: 'smtp://localhost:2525', MAIL_FROM: 'x@example.com' }],
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['TOKEN_TTL_DAYS', { TOKEN_TTL_DAYS: '0' }],
    ['TOKEN_MAX_AGE_DAYS', { TOKEN_MAX_AGE_DAYS: '0' }],
    ['TOKEN_MAX_AGE_DAYS', { TOKEN_MAX_AGE_DAYS: 'a year' }],
    ['MAX_WALLET_BYTES', { MAX_WALLET_BYTES: '-1' }],
    ['WALLET_VERSIONS_KEPT', { WALLET_VERSIONS_KEPT: '1001' }],
    ['WALLET_VERSIONS_KEPT', { WALLET_VERSIONS_KEPT: 'ten' }],
    ['ACTIVITY_RETENTION_DAYS', { ACTIVITY_RETENTION_DAYS: '0' }],
    ['ACTIVITY_RETENTION_DAYS', { ACTIVITY_RETENTION_DAYS: '3651' }],
    ['RATE_LIMITS', { RATE_LIMITS: 'maybe' }],
    ['DATABASE_URL', { DATABASE_URL: 'ftp://x/y' }],
    ['DATABASE_URL', { DATABASE_URL: 'postgres://x' }],
    ['DATABASE_URL', { DATABASE_URL: 'postgresql://root@localhost:5432/' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://root@localhost:3306' }],
    ['REDIS_URL', { REDIS_URL: 'http://localhost:6379' }],
    ['SMTP_URL', { SMTP_URL: 'not a url' }],
    ['SERVER_SECRET', { SERVER_SECRET: 'short' }],
    ['SERVER_NAME', { SERVER_NAME: 'Wallet: Sync' }],
    ['SERVER_NAME', { SERVER_NAME: 'n'.repeat(65) }],
    ['RATE_LIMIT_SECOND_FACTOR_FAILURES_PER_ACCOUNT', { RATE_LIMIT_SECOND_FACTOR_FAILURES_PER_ACCOUNT: 'ten' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['NODE_ENV', { NODE_ENV: 'staging' }],
    ['ARGON2_MEMORY_KIB', { ARGON2_MEMORY_KIB: '8' }],
    ['REQUEST_TIMEOUT_MS', { REQUEST_TIMEOUT_MS: '0' }],
    ['REQUEST_TIMEOUT_MS', { REQUEST_TIMEOUT_MS: '30s' }],
    ['METRICS_TOKEN', { METRICS_TOKEN: 'short' }],
    ['METRICS_TOKEN', { METRICS_TOKEN: 'has spaces in it, sixteen+' }],
    ['METRICS_PUBLIC', { METRICS_PUBLIC: 'yes please' }],
    ['METRICS_PUBLIC', { METRICS_PUBLIC: 'on', METRICS_TOKEN: 'a-long-enough-metrics-token' }],
    ['INTROSPECTION', { INTROSPECTION: 'sometimes' }],
    ['WS_MAX_CONNECTIONS_PER_ACCOUNT', { WS_MAX_CONNECTIONS_PER_ACCOUNT: '0' }],
    ['WS_MESSAGE_BUDGET', { WS_MESSAGE_BUDGET: '100' }],
    ['WS_MESSAGE_BUDGET', { WS_MESSAGE_BUDGET: '0/60' }],
    ['WS_MAX_PENDING_PER_IP', { WS_MAX_PENDING_PER_IP: '0' }],
    ['WS_TOKEN_RECHECK_SECONDS', { WS_TOKEN_RECHECK_SECONDS: '0' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'wallet.example.com' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://wallet.example.com/' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://wallet.example.com/app' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://Wallet.example.com' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://wallet.example.com:443' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://*.example.com' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: '*,https://wallet.example.com' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://a.example.com, https://b.example.com' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://a.example.com,,https://b.example.com' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'chrome-extension://abcdefghijklmnop/' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://user@wallet.example.com' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'null' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'file:///home/joe/wallet.html' }],
    ['WEBAUTHN_RP_ID', { WEBAUTHN_RP_ID: 'https://wallet.example.com' }],
    ['WEBAUTHN_RP_ID', { WEBAUTHN_RP_ID: 'wallet.example.com:8443' }],
    ['WEBAUTHN_RP_ID', { WEBAUTHN_RP_ID: 'Wallet.Example.com' }],
    ['WEBAUTHN_RP_ID', { WEBAUTHN_RP_ID: '192.0.2.7' }],
    ['WEBAUTHN_RP_ID', { PUBLIC_URL: 'https://192.0.2.7' }],
    ['WEBAUTHN_ORIGINS', { WEBAUTHN_RP_ID: 'wallet.example.com', WEBAUTHN_ORIGINS: 'https://wallet.example.com/' }],
    ['WEBAUTHN_ORIGINS', { WEBAUTHN_RP_ID: 'wallet.example.com', WEBAUTHN_ORIGINS: 'https://other.example.com' }],
    ['WEBAUTHN_ORIGINS', { WEBAUTHN_RP_ID: 'wallet.example.com', WEBAUTHN_ORIGINS: 'https://evilwallet.example.com' }],
    ['WEBAUTHN_ORIGINS', { WEBAUTHN_RP_ID: 'wallet.example.com', WEBAUTHN_ORIGINS: '*' }],
  ])('when %s is missing or invalid, then start-up stops with an error naming it', (variable, env) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toContain(variable);
  });

  it.each<[string, string | undefined, unknown]>([
    ['unset', undefined, { kind: 'none' }],
    ['*', '*', { kind: 'any' }],
    [
      'a web app, an extension of each browser and a local port',
      'https://wallet.example.com,chrome-extension://abcdefghijklmnopabcdefghijklmnop,moz-extension://0b7e4e1c-1f4d-4a8e-9c41-2f3d1c9b8a11,http://127.0.0.1:5173',
      {
        kind: 'listed',
        origins: new Set(['https://wallet.example.com', 'chrome-extension://abcdefghijklmnopabcdefghijklmnop', 'moz-extension://0b7e4e1c-1f4d-4a8e-9c41-2f3d1c9b8a11', 'http://127.0.0.1:5173']),
      },
    ],
  ])('when CORS_ORIGINS is %s, then the web origins are read as given', (_name, value, expected) => {
    expect(loadConfig(value === undefined ? {} : { CORS_ORIGINS: value }).corsOrigins).toEqual(expected);
  });

  it.each<[string, Record<string, string>, unknown]>([
    ['nothing is set (a development server)', {}, { rpId: 'localhost', origins: ['http://localhost:8090'] }],
    ['PUBLIC_URL is set', { PUBLIC_URL: 'https://wallet.example.com/sync/' }, { rpId: 'wallet.example.com', origins: ['https://wallet.example.com'] }],
    [
      'PUBLIC_URL and CORS_ORIGINS are set (origins of another domain cannot use its passkeys and are left out)',
      { PUBLIC_URL: 'https://wallet.example.com', CORS_ORIGINS: 'https://app.wallet.example.com,chrome-extension://abcdefghijklmnop,https://other.example.org' },
      { rpId: 'wallet.example.com', origins: ['https://wallet.example.com', 'https://app.wallet.example.com', 'chrome-extension://abcdefghijklmnop'] },
    ],
    [
      'WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS are set',
      { PUBLIC_URL: 'https://sync.example.com', WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.com,https://wallet.example.com,moz-extension://0b7e4e1c' },
      { rpId: 'example.com', origins: ['https://example.com', 'https://wallet.example.com', 'moz-extension://0b7e4e1c'] },
    ],
  ])('when %s, then the relying party and its origins are the documented ones', (_name, env, expected) => {
    expect(loadConfig(env).webauthn).toEqual(expected);
  });

  it.each([
    ['0', 0],
    ['1000', 1000],
  ])('when WALLET_VERSIONS_KEPT=%s (a bound), then it is taken as it is', (value, kept) => {
    expect(loadConfig({ WALLET_VERSIONS_KEPT: value }).walletVersionsKept).toBe(kept);
  });

  it('when the whitelist is given, then it is lower-cased for case-insensitive matching', () => {
    const config = loadConfig({ ACCOUNT_VERIFICATION_MODE: 'Whitelist', ACCOUNT_WHITELIST: 'Joe@Example.com,ann@example.com' });
    expect([...config.accountWhitelist]).toEqual(['joe@example.com', 'ann@example.com']);
  });

  it('when NODE_ENV=production, then introspection is off unless asked for', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).introspection).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', INTROSPECTION: 'on' }).introspection).toBe(true);
    expect(loadConfig({}).introspection).toBe(true);
  });

  it("when the WebSocket limits are unset, then 20 connections per account, 50 without connection_init per address, 600 messages per minute (sized for a device's operations), a token recheck every minute", () => {
    expect(loadConfig({})).toMatchObject({
      wsMaxConnectionsPerAccount: 20,
      wsMaxPendingPerAddress: 50,
      wsMessageBudget: { points: 600, durationSeconds: 60 },
      wsTokenRecheckSeconds: 60,
    });
    expect(loadConfig({ WS_MESSAGE_BUDGET: '5/10' }).wsMessageBudget).toEqual({ points: 5, durationSeconds: 10 });
  });

  it('when REQUEST_TIMEOUT_MS is unset, then a request has 30 s to arrive', () => {
    expect(loadConfig({}).requestTimeoutMs).toBe(30_000);
    expect(loadConfig({ REQUEST_TIMEOUT_MS: '5000' }).requestTimeoutMs).toBe(5000);
  });

  it.each<[string, string, Record<string, string>, unknown]>([
    ['a loopback HOST with nothing set', 'public', {}, { kind: 'public' }],
    ['a non-loopback HOST with nothing set', 'closed', { HOST: '0.0.0.0' }, { kind: 'closed' }],
    ['a non-loopback HOST with METRICS_PUBLIC=on', 'public', { HOST: '::', METRICS_PUBLIC: 'on' }, { kind: 'public' }],
    ['any HOST with METRICS_TOKEN', 'behind the token', { HOST: '192.0.2.2', METRICS_TOKEN: 'a-long-enough-metrics-token' }, { kind: 'token', token: 'a-long-enough-metrics-token' }],
    ['a loopback HOST behind a proxy (TRUST_PROXY=on)', 'closed', { TRUST_PROXY: 'on' }, { kind: 'closed' }],
    ['a loopback HOST behind a proxy (TRUST_PROXY=10.0.0.0/8)', 'closed', { TRUST_PROXY: '10.0.0.0/8' }, { kind: 'closed' }],
    ['a loopback HOST with TRUST_PROXY=off', 'public', { TRUST_PROXY: 'off' }, { kind: 'public' }],
    ['a loopback HOST with METRICS_TOKEN', 'behind the token', { METRICS_TOKEN: 'a-long-enough-metrics-token' }, { kind: 'token', token: 'a-long-enough-metrics-token' }],
  ])('when /metrics is configured on %s, then it is %s', (_case, _label, env, expected) => {
    expect(loadConfig({ ACCOUNT_VERIFICATION_MODE: 'AllowAll', ...env }).metrics).toEqual(expected);
  });

  it.each<[string, Record<string, string>, boolean, boolean]>([
    ['127.0.0.1', {}, true, true],
    ['127.0.0.1', { NODE_ENV: 'test' }, true, false],
    ['127.0.0.1', { NODE_ENV: 'production' }, false, false],
    ['::ffff:127.0.0.1', {}, true, true],
    ['0.0.0.0', {}, false, false],
    ['::', {}, false, false],
    ['192.0.2.2', {}, false, false],
    ['192.0.2.2', { INTROSPECTION: 'on', NODE_ENV: 'production' }, true, true],
    ['127.0.0.1', { INTROSPECTION: 'off' }, false, false],
    ['127.0.0.1', { TRUST_PROXY: 'on' }, false, false],
    ['127.0.0.1', { TRUST_PROXY: '2', NODE_ENV: 'development' }, false, false],
    ['127.0.0.1', { TRUST_PROXY: 'on', INTROSPECTION: 'on' }, true, true],
  ])('when HOST=%s and %j, then introspection is %s and the landing page and suggestions %s', (host, env, introspection, aids) => {
    const config = loadConfig({ HOST: host, ACCOUNT_VERIFICATION_MODE: 'AllowAll', ...env });
    expect({ introspection: config.introspection, landingPageAndSuggestions: config.landingPageAndSuggestions }).toEqual({
      introspection,
      landingPageAndSuggestions: aids,
    });
  });
});
