import { ConfigError, loadConfig } from '../../src/config';

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
      passwordHashing: { memoryKib: 19_456, timeCost: 2, parallelism: 1 },
    });
    expect(config.database.url).toMatch(/data[/\\]wallet-sync\.sqlite$/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('when DATABASE_URL is a mysql URL, then the dialect is mysql', () => {
    expect(loadConfig({ DATABASE_URL: 'mysql://u:p@db:3306/wallets' }).database).toEqual({ dialect: 'mysql', url: 'mysql://u:p@db:3306/wallets' });
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
    ['ACCOUNT_VERIFICATION_MODE', { ACCOUNT_VERIFICATION_MODE: 'allowall' }],
    ['ACCOUNT_WHITELIST', { ACCOUNT_VERIFICATION_MODE: 'Whitelist' }],
    ['ACCOUNT_WHITELIST', { ACCOUNT_VERIFICATION_MODE: 'Whitelist', ACCOUNT_WHITELIST: 'a@example.com, b@example.com' }],
    ['SMTP_URL, MAIL_FROM, PUBLIC_URL', { ACCOUNT_VERIFICATION_MODE: 'EmailVerify' }],
    ['PUBLIC_URL', { ACCOUNT_VERIFICATION_MODE: 'EmailVerify', SMTP_URL: 'smtp://localhost:2525', MAIL_FROM: 'x@example.com' }],
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['TOKEN_TTL_DAYS', { TOKEN_TTL_DAYS: '0' }],
    ['MAX_WALLET_BYTES', { MAX_WALLET_BYTES: '-1' }],
    ['WALLET_VERSIONS_KEPT', { WALLET_VERSIONS_KEPT: '1001' }],
    ['WALLET_VERSIONS_KEPT', { WALLET_VERSIONS_KEPT: 'ten' }],
    ['ACTIVITY_RETENTION_DAYS', { ACTIVITY_RETENTION_DAYS: '0' }],
    ['ACTIVITY_RETENTION_DAYS', { ACTIVITY_RETENTION_DAYS: '3651' }],
    ['RATE_LIMITS', { RATE_LIMITS: 'maybe' }],
    ['DATABASE_URL', { DATABASE_URL: 'postgres://x/y' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://root@localhost:3306' }],
    ['REDIS_URL', { REDIS_URL: 'http://localhost:6379' }],
    ['SMTP_URL', { SMTP_URL: 'not a url' }],
    ['SERVER_SECRET', { SERVER_SECRET: 'short' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['NODE_ENV', { NODE_ENV: 'staging' }],
    ['ARGON2_MEMORY_KIB', { ARGON2_MEMORY_KIB: '8' }],
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
});
