import { Writable } from 'node:stream';
import { createLogger } from '../../src/lib/logger';
import { startTestServer, type TestServer } from '../helpers/app';
import { login, newSeed, uniqueEmail, upload } from '../../test-support/operations';
import { ChangePasswordDocument, LoginDocument, MeDocument, RegisterDocument, SeedDocument, WalletStateDocument } from '../../test-support/operations.generated';

describe('logs and metrics over a full walkthrough', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  let server: TestServer;
  const secrets: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({ METRICS_TOKEN: 'scrape-me-please' }, { logger: createLogger('trace', sink) });
    const email = uniqueEmail('secret.person');
    const password = 'my very secret password';
    const seed = newSeed();
    await server.gql(RegisterDocument, { input: { email, password, clientSaltSeed: seed } });
    await server.gql(SeedDocument, { email });
    const a = await login(server, email, password, 'laptop-device');
    const b = await login(server, email, password, 'phone-device');
    await upload(server, a, 1, 'SECRET-WALLET-ONE', 'SECRET-HMAC-ONE');
    await upload(server, b, 2, 'SECRET-WALLET-TWO', 'SECRET-HMAC-TWO');
    await upload(server, a, 2, 'SECRET-WALLET-CONFLICT', 'SECRET-HMAC-CONFLICT');
    await server.gql(WalletStateDocument, {}, b.token);
    await server.gql(MeDocument, {}, a.token);
    await server.gql(LoginDocument, { input: { email, password: 'wrong secret guess', deviceId: 'x' } });
    await server.gql(RegisterDocument, { input: { email, password: 'p'.repeat(2000), clientSaltSeed: seed } });
    await server.gql(ChangePasswordDocument, {
      input: { email, oldPassword: password, newPassword: 'my new secret password', clientSaltSeed: newSeed(), wallet: { encryptedWallet: 'SECRET-WALLET-THREE', sequence: 3, hmac: 'SECRET-HMAC-THREE' } },
    });
    await fetch(`${server.url}/no-such-page?token=SECRET-QUERY-TOKEN`);
    secrets.push(email, password, 'my new secret password', 'wrong secret guess', 'p'.repeat(100), seed, a.token, b.token, 'SECRET-', 'laptop-device');
  });
  afterAll(() => server.close());

  it('when the whole flow is logged at trace level, then no email, password, token, seed, wallet or hmac appears', () => {
    const text = lines.join('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it('when a GraphQL request is logged, then the line has the request id, operation, outcome and account id', () => {
    const records = lines.map((line) => JSON.parse(line));
    const updates = records.filter((r) => r.msg === 'graphql request' && r.operation === 'updateWalletState');
    expect(updates).toHaveLength(3);
    for (const record of updates) {
      expect(record.reqId).toMatch(/^[0-9a-f-]{36}$/);
      expect(typeof record.accountId).toBe('number');
      expect(record.level).toBe(30);
    }
    const failedLogin = records.find((r) => r.operation === 'login' && r.outcome === 'error');
    expect(failedLogin.errorCodes).toEqual(['UNAUTHENTICATED']);
    const unknown = records.find((r) => r.path === '/no-such-page');
    expect(unknown).toMatchObject({ status: 404, method: 'GET' });
  });

  it('when /metrics is scraped with the token, then requests, errors, wallet writes, argon2 and process figures are there', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const response = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer scrape-me-please' } });
    expect(response.status).toBe(200);
    const text = await response.text();
    const value = (pattern: string) => Number(new RegExp(`^${pattern} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('wallet_sync_graphql_requests_total\\{operation="updateWalletState",outcome="success",transport="http"\\}')).toBe(3);
    // Two uploads and the wallet the password change carried.
    expect(value('wallet_sync_wallet_writes_total\\{result="success"\\}')).toBe(3);
    expect(value('wallet_sync_wallet_writes_total\\{result="conflict"\\}')).toBe(1);
    expect(value('wallet_sync_errors_total\\{code="UNAUTHENTICATED"\\}')).toBe(1);
    expect(value('wallet_sync_errors_total\\{code="BAD_USER_INPUT"\\}')).toBe(1);
    expect(value('wallet_sync_argon2_duration_seconds_count\\{kind="verify"\\}')).toBeGreaterThanOrEqual(4);
    expect(text).toMatch(/^wallet_sync_nodejs_eventloop_lag_seconds /m);
    expect(text).toMatch(/^wallet_sync_process_resident_memory_bytes /m);
    expect(text).toMatch(/^wallet_sync_active_subscriptions /m);
  });
});
