import WebSocket from 'ws';
import pino from 'pino';
import { parse, print } from 'graphql';
import { operationText, unchecked } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { ManualClock } from '../helpers/clock';
import {
  BeginTotpDocument,
  ClientKeyParamsDocument,
  ConfirmTotpDocument,
  DeleteAccountDocument,
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RegenerateRecoveryCodesDocument,
  RegisterDocument,
  RevokeDocument,
  SecondFactorStatusDocument,
  SeedDocument,
  WalletHistoryDocument,
  WalletStateDocument,
} from '../../test-support/operations.generated';
import { totpCode } from '../../src/lib/totp';
import { TestSmtpServer } from '../helpers/smtp';
import { wsUrl } from '../../test-support/subscriptions';
import { WalletRepository } from '../../src/db/repositories/wallet.repository';
import { GoldenRecorder, type GoldenResponse } from './recorder';

/**
 * Every operation of the public contract the server serves, with its success
 * and error paths, compared byte for byte (status, the headers a client sees,
 * body) with the responses recorded in responses/*.txt. A change that alters a
 * response on purpose re-records them (npm run golden:update) in the same
 * commit; any other change must leave them as they are.
 *
 * Everything that would vary is fixed: the clock, the emails, the seeds, the
 * server secret (decoy seeds). Tokens are recorded by their device's name.
 * Each file runs against a server of its own, on SQLite or MariaDB alike.
 */

const SERVER_SECRET = 'golden-responses-server-secret-0123456789abcdef';
const START = new Date('2026-01-01T00:00:00.000Z');
const PASSWORD = 'correct horse battery staple';
const SEED = 'A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90';
const NEW_SEED = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

const ENV: Record<string, string> = {
  // What clients meet in a deployment: no introspection, no field suggestions.
  NODE_ENV: 'production',
  SERVER_SECRET,
  MAX_WALLET_BYTES: '100',
  BODY_LIMIT_BYTES: '4096',
};

const SERVER_INFO = '{ serverInfo { apiVersion accountVerificationMode maxWalletBytes } }';
const RESEND = 'mutation Resend($email: String!) { resendVerificationEmail(email: $email) }';

/*
 * Two requests go out as they were first recorded, not as the client's documents now print, because their answers
 * depend on the request's text: a variable error gives the line and column of `$input` in it, and a result carries
 * exactly the fields selected. With these, renaming or widening the client's operations changes recorded requests
 * only, never a recorded response.
 */
const UPDATE_AS_RECORDED = print(parse(`
  mutation Update($input: WalletStateInput!) {
    updateWalletState(input: $input) {
      __typename
      ... on WalletStateSuccess { walletState { ...WalletStateFields } }
      ... on WalletStateConflict { latest { ...WalletStateFields } }
    }
  }
  fragment WalletStateFields on WalletState { encryptedWallet sequence hmac updatedAt }`));
const CHANGE_PASSWORD_AS_RECORDED = print(parse(`
  mutation ChangePassword($input: ChangePasswordInput!) {
    changePassword(input: $input) {
      __typename
      ... on ChangePasswordSuccess { walletState { encryptedWallet sequence hmac } }
      ... on WalletStateConflict { latest { encryptedWallet sequence hmac } }
    }
  }`));

async function golden(name: string, env: Record<string, string> = {}, overrides: Parameters<typeof startTestServer>[1] = {}) {
  const clock = new ManualClock(START);
  const server = await startTestServer({ ...ENV, ...env }, { clock, logger: pino({ level: 'silent' }), ...overrides });
  return { server, clock, rec: new GoldenRecorder(name, () => server.url) };
}

/** Logs in and records the token under the device's name. */
async function loginAs(rec: GoldenRecorder, title: string, email: string, password: string, deviceId: string): Promise<string> {
  const response = await rec.graphql(title, LoginDocument, { input: { email, password, deviceId } });
  const token = response.json?.data?.login?.token;
  if (typeof token !== 'string') throw new Error(`login failed: ${response.text}`);
  rec.redact(token, `token:${email}/${deviceId}`);
  return token;
}

const update = (rec: GoldenRecorder, title: string, token: string | undefined, input: Record<string, unknown>): Promise<GoldenResponse> =>
  rec.graphql(title, UPDATE_AS_RECORDED, { input }, token);

/** A phone of a new account with sequence 1 uploaded, and its socket past connection_init (the first frame read). */
async function phoneWithSocket(rec: GoldenRecorder, serverUrl: string, email: string): Promise<{ phone: string; socket: RecordedSocket }> {
  await rec.graphql('register', RegisterDocument, { input: { email, password: PASSWORD, clientSaltSeed: SEED } });
  const phone = await loginAs(rec, 'login: phone', email, PASSWORD, 'phone');
  await update(rec, 'updateWalletState: sequence 1', phone, { encryptedWallet: 'wallet-1', sequence: 1, hmac: 'hmac-1' });
  const socket = await openSocket(serverUrl);
  socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${phone}` } });
  await socket.frames(1);
  return { phone, socket };
}

describe('golden responses: what clients receive, byte for byte', () => {
  it('when accounts are registered and devices log in, out and are revoked, then every response is the recorded one', async () => {
    const { server, clock, rec } = await golden('accounts');
    try {
      const email = 'alice@example.com';
      await rec.graphql('serverInfo', SERVER_INFO);
      await rec.graphql('register: success (the seed is stored lower-cased)', RegisterDocument, { input: { email: 'Alice@Example.com', password: PASSWORD, clientSaltSeed: SEED } });
      await rec.graphql('register: the same email in another case (EMAIL_TAKEN)', RegisterDocument, { input: { email: 'ALICE@example.com', password: PASSWORD, clientSaltSeed: SEED } });
      for (const [title, input] of <Array<[string, Record<string, unknown>]>>[
        ['email with a display name', { email: 'Joe <joe@example.com>' }],
        ['email with surrounding spaces', { email: ' joe@example.com ' }],
        ['email without a domain', { email: 'joe' }],
        ['password of 7 characters', { password: '1234567' }],
        ['password of 1025 characters', { password: 'p'.repeat(1025) }],
        ['seed of 63 hex characters', { clientSaltSeed: 'a'.repeat(63) }],
        ['seed with a non-hex character', { clientSaltSeed: `${'a'.repeat(63)}g` }],
        ['every field wrong at once', { email: 'x', password: 'short', clientSaltSeed: 'z' }],
      ]) {
        await rec.graphql(`register: ${title} (BAD_USER_INPUT)`, RegisterDocument, { input: { email: 'bob@example.com', password: PASSWORD, clientSaltSeed: SEED, ...input } });
      }
      await rec.graphql('clientSaltSeed: a registered email, in another case', SeedDocument, { email: 'ALICE@example.com' });
      await rec.graphql('clientSaltSeed: an unknown email (the decoy)', SeedDocument, { email: 'nobody@example.com' });
      await rec.graphql('clientSaltSeed: not an email (BAD_USER_INPUT)', SeedDocument, { email: 'not-an-email' });
      await rec.graphql('register: with key parameters', RegisterDocument, { input: { email: 'carol@example.com', password: PASSWORD, clientSaltSeed: SEED, keyParams: { n: 16384, r: 8, p: 1 } } });
      await rec.graphql('register: key parameters out of bounds (BAD_USER_INPUT)', RegisterDocument, {
        input: { email: 'dave@example.com', password: PASSWORD, clientSaltSeed: SEED, keyParams: { n: 1000, r: 0, p: 5 } },
      });
      await rec.graphql('clientKeyParams: an account registered without key parameters (the defaults)', ClientKeyParamsDocument, { email: 'alice@example.com' });
      await rec.graphql('clientKeyParams: an account registered with key parameters', ClientKeyParamsDocument, { email: 'Carol@Example.com' });
      await rec.graphql('clientKeyParams: an unknown email (the decoy with the defaults)', ClientKeyParamsDocument, { email: 'nobody@example.com' });
      await rec.graphql('resendVerificationEmail: AllowAll mode', RESEND, { email });
      await rec.graphql('resendVerificationEmail: not an email', RESEND, { email: 'nope' });

      const phone = await loginAs(rec, 'login: phone', email, PASSWORD, 'phone');
      clock.advance(60_000);
      const laptop = await loginAs(rec, 'login: laptop, a minute later', 'ALICE@EXAMPLE.COM', PASSWORD, 'laptop');
      await rec.graphql('login: wrong password (UNAUTHENTICATED)', LoginDocument, { input: { email, password: 'wrong password', deviceId: 'x' } });
      await rec.graphql('login: unknown email (the same UNAUTHENTICATED)', LoginDocument, { input: { email: 'ghost@example.com', password: 'wrong password', deviceId: 'x' } });
      await rec.graphql('login: empty deviceId (BAD_USER_INPUT)', LoginDocument, { input: { email, password: PASSWORD, deviceId: '' } });
      await rec.graphql('login: deviceId of 256 characters (BAD_USER_INPUT)', LoginDocument, { input: { email, password: PASSWORD, deviceId: 'd'.repeat(256) } });
      await rec.graphql('login: empty password (BAD_USER_INPUT)', LoginDocument, { input: { email, password: '', deviceId: 'x' } });

      clock.advance(60_000);
      await rec.graphql('me: from the phone', MeDocument, undefined, phone);
      await rec.graphql('me: without a token (UNAUTHENTICATED)', MeDocument);
      await rec.graphql('revokeDevice: the laptop, from the phone', RevokeDocument, { deviceId: 'laptop' }, phone);
      await rec.graphql('revokeDevice: a device that does not exist', RevokeDocument, { deviceId: 'tablet' }, phone);
      await rec.graphql('revokeDevice: without a token (UNAUTHENTICATED)', RevokeDocument, { deviceId: 'phone' });
      await rec.graphql('walletState: the revoked laptop token (UNAUTHENTICATED)', WalletStateDocument, undefined, laptop);
      await rec.graphql('logout: the phone', LogoutDocument, undefined, phone);
      await rec.graphql('logout: the phone again (UNAUTHENTICATED)', LogoutDocument, undefined, phone);
      await rec.graphql('me: after logout (UNAUTHENTICATED)', MeDocument, undefined, phone);
      const again = await loginAs(rec, 'login: the phone again', email, PASSWORD, 'phone');
      await rec.graphql('me: one device left', MeDocument, undefined, again);
      rec.check();
    } finally {
      await server.close();
    }
  });

  it('when wallet states are uploaded, read, retried, raced and refused, then every response is the recorded one', async () => {
    const { server, clock, rec } = await golden('wallet');
    try {
      const email = 'bob@example.com';
      await rec.graphql('register', RegisterDocument, { input: { email, password: PASSWORD, clientSaltSeed: SEED } });
      const phone = await loginAs(rec, 'login: phone', email, PASSWORD, 'phone');
      const laptop = await loginAs(rec, 'login: laptop', email, PASSWORD, 'laptop');
      await rec.graphql('walletState: none yet', WalletStateDocument, undefined, phone);
      await rec.exchange('walletState: no Authorization header (UNAUTHENTICATED)', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: operationText(WalletStateDocument) }),
      });
      await rec.graphql('walletState: an unknown token (UNAUTHENTICATED)', WalletStateDocument, undefined, 'not-a-real-token');
      await rec.exchange('walletState: a Basic Authorization header (UNAUTHENTICATED)', {
        headers: { 'content-type': 'application/json', authorization: 'Basic dXNlcjpwYXNz' },
        body: JSON.stringify({ query: operationText(WalletStateDocument) }),
      });

      clock.advance(1000);
      await update(rec, 'updateWalletState: sequence 1 (success)', phone, { encryptedWallet: 'wallet-1', sequence: 1, hmac: 'hmac-1' });
      await rec.graphql('walletState: from the laptop', WalletStateDocument, undefined, laptop);
      clock.advance(1000);
      await update(rec, 'updateWalletState: exactly the current state again (a safe retry: success)', phone, { encryptedWallet: 'wallet-1', sequence: 1, hmac: 'hmac-1' });
      await update(rec, 'updateWalletState: sequence 1 with other content (conflict)', laptop, { encryptedWallet: 'other', sequence: 1, hmac: 'hmac-x' });
      await update(rec, 'updateWalletState: sequence 3, skipping 2 (conflict)', laptop, { encryptedWallet: 'wallet-3', sequence: 3, hmac: 'hmac-3' });
      await update(rec, 'updateWalletState: sequence 2 from the laptop (success)', laptop, { encryptedWallet: 'wallet-2 ✓ ünïcödé', sequence: 2, hmac: 'hmac-2' });
      await rec.graphql('walletState: from the phone', WalletStateDocument, undefined, phone);
      await update(rec, 'updateWalletState: 34 × € is 102 bytes, over MAX_WALLET_BYTES (PAYLOAD_TOO_LARGE)', phone, { encryptedWallet: '€'.repeat(34), sequence: 3, hmac: 'h' });
      await update(rec, 'updateWalletState: exactly MAX_WALLET_BYTES (success)', phone, { encryptedWallet: 'x'.repeat(100), sequence: 3, hmac: 'hmac-3' });
      for (const [title, input] of <Array<[string, Record<string, unknown>]>>[
        ['sequence 0', { sequence: 0 }],
        ['a negative sequence', { sequence: -5 }],
        ['an empty encryptedWallet', { encryptedWallet: '' }],
        ['an empty hmac', { hmac: '' }],
        ['an hmac of 256 characters', { hmac: 'h'.repeat(256) }],
      ]) {
        await update(rec, `updateWalletState: ${title} (BAD_USER_INPUT)`, phone, { encryptedWallet: 'e', sequence: 4, hmac: 'h', ...input });
      }
      for (const [title, input] of <Array<[string, Record<string, unknown>]>>[
        ['a sequence over 2^31-1', { encryptedWallet: 'e', sequence: 2 ** 31, hmac: 'h' }],
        ['a sequence given as a string', { encryptedWallet: 'e', sequence: '4', hmac: 'h' }],
        ['a fractional sequence', { encryptedWallet: 'e', sequence: 4.5, hmac: 'h' }],
        ['a null hmac', { encryptedWallet: 'e', sequence: 4, hmac: null }],
        ['an unknown input field', { encryptedWallet: 'e', sequence: 4, hmac: 'h', extra: true }],
        ['a missing input field', { encryptedWallet: 'e', sequence: 4 }],
      ]) {
        await update(rec, `updateWalletState: variable with ${title} (coercion error)`, phone, input);
      }
      await rec.graphql('updateWalletState: no input variable at all (coercion error)', UPDATE_AS_RECORDED, {}, phone);
      await update(rec, 'updateWalletState: without a token (UNAUTHENTICATED)', undefined, { encryptedWallet: 'e', sequence: 4, hmac: 'h' });
      await rec.graphql('walletState: unchanged by all of the above', WalletStateDocument, undefined, laptop);
      rec.check();
    } finally {
      await server.close();
    }
  });

  it('when passwords are changed and accounts deleted, then every response is the recorded one', async () => {
    const { server, clock, rec } = await golden('password');
    try {
      const email = 'carol@example.com';
      const change = (title: string, input: Record<string, unknown>, token?: string) =>
        rec.graphql(title, CHANGE_PASSWORD_AS_RECORDED, { input: { email, oldPassword: PASSWORD, newPassword: 'a new password', clientSaltSeed: NEW_SEED, ...input } }, token);
      await rec.graphql('register', RegisterDocument, { input: { email, password: PASSWORD, clientSaltSeed: SEED } });
      const phone = await loginAs(rec, 'login: phone', email, PASSWORD, 'phone');
      await change('changePassword: a wallet given while the server has none (conflict, latest null)', { wallet: { encryptedWallet: 'w', sequence: 1, hmac: 'h' } });
      await update(rec, 'updateWalletState: sequence 1', phone, { encryptedWallet: 'wallet-1', sequence: 1, hmac: 'hmac-1' });
      await change('changePassword: wrong old password (UNAUTHENTICATED)', { oldPassword: 'not the password', wallet: { encryptedWallet: 'w', sequence: 2, hmac: 'h' } });
      await change('changePassword: unknown email (UNAUTHENTICATED)', { email: 'ghost@example.com', wallet: { encryptedWallet: 'w', sequence: 2, hmac: 'h' } });
      await change('changePassword: no wallet while the server has one (conflict)', {});
      await change('changePassword: the wallet at a wrong sequence (conflict)', { wallet: { encryptedWallet: 'w', sequence: 5, hmac: 'h' } });
      await change('changePassword: newPassword equal to oldPassword (BAD_USER_INPUT)', { newPassword: PASSWORD });
      await change('changePassword: newPassword too short (BAD_USER_INPUT)', { newPassword: 'short' });
      await change('changePassword: a bad clientSaltSeed (BAD_USER_INPUT)', { clientSaltSeed: 'xyz' });
      await change('changePassword: a bad wallet inside (BAD_USER_INPUT)', { wallet: { encryptedWallet: '', sequence: 2, hmac: 'h' } });
      clock.advance(5000);
      await change('changePassword: success, with the wallet re-encrypted at sequence 2', { wallet: { encryptedWallet: 'wallet-2-new-keys', sequence: 2, hmac: 'hmac-2' } });
      await rec.graphql('walletState: the old token was revoked (UNAUTHENTICATED)', WalletStateDocument, undefined, phone);
      await rec.graphql('login: the old password (UNAUTHENTICATED)', LoginDocument, { input: { email, password: PASSWORD, deviceId: 'phone' } });
      const renewed = await loginAs(rec, 'login: the new password', email, 'a new password', 'phone');
      await rec.graphql('walletState: after the change', WalletStateDocument, undefined, renewed);
      await rec.graphql('clientSaltSeed: the new seed', SeedDocument, { email });
      await rec.graphql('deleteAccount: without a token (UNAUTHENTICATED)', DeleteAccountDocument, { password: 'a new password' });
      await rec.graphql('deleteAccount: wrong password (UNAUTHENTICATED)', DeleteAccountDocument, { password: 'not the password' }, renewed);
      await rec.graphql('deleteAccount: success', DeleteAccountDocument, { password: 'a new password' }, renewed);
      await rec.graphql('walletState: the deleted account\'s token (UNAUTHENTICATED)', WalletStateDocument, undefined, renewed);
      await rec.graphql('clientSaltSeed: the deleted email answers its decoy', SeedDocument, { email });

      const dave = 'dave@example.com';
      await rec.graphql('register: an account that never uploads', RegisterDocument, { input: { email: dave, password: PASSWORD, clientSaltSeed: SEED } });
      await rec.graphql('changePassword: no wallet anywhere (success, walletState null)', CHANGE_PASSWORD_AS_RECORDED, {
        input: { email: dave, oldPassword: PASSWORD, newPassword: 'a new password', clientSaltSeed: NEW_SEED },
      });
      rec.check();
    } finally {
      await server.close();
    }
  });

  it('when documents are malformed, invalid or over a limit, then every response is the recorded one', async () => {
    // A depth limit of 3 lets the deepest real query of this schema (3) through and makes a deeper one reachable.
    const { server, rec } = await golden('documents', { GRAPHQL_MAX_DEPTH: '3' });
    try {
      await rec.graphql('register', RegisterDocument, { input: { email: 'erin@example.com', password: PASSWORD, clientSaltSeed: SEED } });
      const token = await loginAs(rec, 'login', 'erin@example.com', PASSWORD, 'phone');
      const cases: Array<[string, string, Record<string, unknown>?]> = [
        ['a document that does not parse (GRAPHQL_PARSE_FAILED)', '{ walletState { sequence '],
        ['an empty document', ''],
        ['an unknown field (no suggestion in production)', '{ walletState { sequence color } }'],
        ['a misspelt root field', '{ walletStat { sequence } }'],
        ['an unknown input field in a literal', 'mutation { updateWalletState(input: {encryptedWallet: "e", sequence: 1, hmac: "h", extra: 1}) { __typename } }'],
        ['a literal of the wrong type', 'mutation { updateWalletState(input: {encryptedWallet: "e", sequence: "1", hmac: "h"}) { __typename } }'],
        ['a missing selection on a union', 'mutation { updateWalletState(input: {encryptedWallet: "e", sequence: 1, hmac: "h"}) }'],
        ['a variable declared with a wrong type', 'query Q($e: Int!) { clientSaltSeed(email: $e) }', { e: 1 }],
        ['an undeclared variable', '{ clientSaltSeed(email: $e) }'],
        ['a query at the depth limit (3)', '{ me { devices { deviceId } } }'],
        ['a query over the depth limit (3)', 'mutation { updateWalletState(input: {encryptedWallet: "e", sequence: 1, hmac: "h"}) { ... on WalletStateConflict { latest { sequence } } } }'],
        ['11 aliases (over 10)', `{ ${Array.from({ length: 11 }, (_, i) => `s${i}: serverInfo { apiVersion }`).join(' ')} }`],
        ['10 aliases (at the limit)', `{ ${Array.from({ length: 10 }, (_, i) => `s${i}: serverInfo { apiVersion }`).join(' ')} }`],
        ['over 1000 tokens', `{ serverInfo { ${'a '.repeat(1000)}} }`],
        ['introspection (off in production)', '{ __schema { queryType { name } } }'],
        ['__typename on the root', '{ __typename }'],
        ['two operations and no operationName', 'query A { serverInfo { apiVersion } } query B { serverInfo { maxWalletBytes } }'],
        ['a subscription over HTTP', 'subscription { walletUpdated { sequence } }'],
        ['a fragment', 'query { walletState { ...W } } fragment W on WalletState { sequence hmac }'],
      ];
      for (const [title, query, variables] of cases) await rec.graphql(`document: ${title}`, query, variables, token);
      await rec.exchange('document: an operationName that is not in the document', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'query A { serverInfo { apiVersion } }', operationName: 'B' }),
      });
      await rec.exchange('document: the chosen one of two operations', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'query A { serverInfo { apiVersion } } query B { serverInfo { maxWalletBytes } }', operationName: 'B' }),
      });
      await rec.exchange('document: the query is not a string', { headers: { 'content-type': 'application/json' }, body: '{"query":1}' });
      await rec.exchange('document: no query at all', { headers: { 'content-type': 'application/json' }, body: '{}' });
      await rec.exchange('document: variables that are not an object', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'query Q($e: String!) { clientSaltSeed(email: $e) }', variables: 'x' }),
      });
      await rec.exchange('document: extensions that are not an object', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ serverInfo { apiVersion } }', extensions: 'x' }),
      });
      rec.check();
    } finally {
      await server.close();
    }
  });

  it('when requests are malformed at the HTTP level, then every response is the recorded one', async () => {
    const { server, rec } = await golden('http');
    try {
      const query = '{ serverInfo { apiVersion } }';
      const get = `/graphql?query=${encodeURIComponent(query)}`;
      await rec.exchange('GET: with apollo-require-preflight', { method: 'GET', path: get, headers: { 'apollo-require-preflight': 'true' } });
      await rec.exchange('GET: with content-type application/json', { method: 'GET', path: get, headers: { 'content-type': 'application/json' } });
      await rec.exchange('GET: without a CSRF preflight header (400)', { method: 'GET', path: get });
      await rec.exchange('GET: a mutation (405)', {
        method: 'GET',
        path: `/graphql?query=${encodeURIComponent('mutation { logout }')}`,
        headers: { 'apollo-require-preflight': 'true' },
      });
      await rec.exchange('GET: no query', { method: 'GET', path: '/graphql', headers: { 'apollo-require-preflight': 'true' } });
      await rec.exchange('GET: variables that are not JSON', {
        method: 'GET',
        path: `/graphql?query=${encodeURIComponent('query Q($e: String!) { clientSaltSeed(email: $e) }')}&variables=%7Bnot-json`,
        headers: { 'apollo-require-preflight': 'true' },
      });
      const post = (title: string, body: string, headers: Record<string, string>) => rec.exchange(title, { headers, body });
      await post('POST: malformed JSON', '{"query": "{ serverInfo { apiVersion } }"', { 'content-type': 'application/json' });
      await post('POST: an empty JSON body', '', { 'content-type': 'application/json' });
      await post('POST: a JSON string, not an object', '"hello"', { 'content-type': 'application/json' });
      await post('POST: a batch (batching is off)', JSON.stringify([{ query }, { query }]), { 'content-type': 'application/json' });
      await post('POST: text/plain (CSRF prevention)', JSON.stringify({ query }), { 'content-type': 'text/plain' });
      await post('POST: text/plain with apollo-require-preflight', JSON.stringify({ query }), { 'content-type': 'text/plain', 'apollo-require-preflight': 'true' });
      await post('POST: application/xml (415)', '<query/>', { 'content-type': 'application/xml' });
      await post('POST: no content type', JSON.stringify({ query }), {});
      await post('POST: application/json with a charset', JSON.stringify({ query }), { 'content-type': 'application/json; charset=utf-8' });
      await post('POST: application/graphql-response+json accepted', JSON.stringify({ query }), {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
      });
      await post('POST: a parse error, accepting application/graphql-response+json', JSON.stringify({ query: '{' }), {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
      });
      await post('POST: an Accept the server cannot answer', JSON.stringify({ query }), { 'content-type': 'application/json', accept: 'text/html' });
      await post('POST: a body over BODY_LIMIT_BYTES (413)', JSON.stringify({ query: `${query} #${'x'.repeat(5000)}` }), { 'content-type': 'application/json' });
      await rec.exchange('POST /graphql/ (trailing slash)', { method: 'POST', path: '/graphql/', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      await rec.exchange('an unknown route (404)', { method: 'GET', path: '/nope?token=secret' });
      await rec.exchange('/healthz', { method: 'GET', path: '/healthz' });
      await rec.exchange('/verify (gone: the mail carries a code, no link acts) 404', { method: 'GET', path: '/verify?token=anything' });
      rec.check();
    } finally {
      await server.close();
    }
  });

  it('when the verification mode restricts registration, then every response is the recorded one', async () => {
    const smtp = new TestSmtpServer();
    const servers: TestServer[] = [];
    let current = '';
    // One file for both servers: the recorder follows whichever server runs now.
    const rec = new GoldenRecorder('modes', () => current);
    const start = async (env: Record<string, string>) => {
      const server = await startTestServer({ ...ENV, ...env }, { clock: new ManualClock(START), logger: pino({ level: 'silent' }) });
      servers.push(server);
      current = server.url;
    };
    try {
      await start({ ACCOUNT_VERIFICATION_MODE: 'Whitelist', ACCOUNT_WHITELIST: 'allowed@example.com,other@example.com' });
      await rec.graphql('Whitelist: serverInfo', SERVER_INFO);
      await rec.graphql('Whitelist: an email outside the list (REGISTRATION_CLOSED)', RegisterDocument, { input: { email: 'outsider@example.com', password: PASSWORD, clientSaltSeed: SEED } });
      await rec.graphql('Whitelist: a listed email, in another case', RegisterDocument, { input: { email: 'Allowed@Example.com', password: PASSWORD, clientSaltSeed: SEED } });
      await rec.graphql('Whitelist: the listed email again (EMAIL_TAKEN)', RegisterDocument, { input: { email: 'allowed@example.com', password: PASSWORD, clientSaltSeed: SEED } });

      const smtpUrl = await smtp.start();
      await start({ ACCOUNT_VERIFICATION_MODE: 'EmailVerify', SMTP_URL: smtpUrl, MAIL_FROM: 'server@example.com', PUBLIC_URL: 'https://wallet.example.com' });
      await rec.graphql('EmailVerify: serverInfo', SERVER_INFO);
      await rec.graphql('EmailVerify: register', RegisterDocument, { input: { email: 'frank@example.com', password: PASSWORD, clientSaltSeed: SEED } });
      await rec.graphql('EmailVerify: login before verifying (ACCOUNT_NOT_VERIFIED)', LoginDocument, { input: { email: 'frank@example.com', password: PASSWORD, deviceId: 'phone' } });
      await rec.graphql('EmailVerify: login with a wrong code (UNAUTHENTICATED)', LoginDocument, {
        input: { email: 'frank@example.com', password: PASSWORD, deviceId: 'phone', verificationCode: 'ZZZZ-ZZZZ' },
      });
      await rec.graphql('EmailVerify: login with a malformed code (BAD_USER_INPUT)', LoginDocument, {
        input: { email: 'frank@example.com', password: PASSWORD, deviceId: 'phone', verificationCode: 'not a code' },
      });
      await rec.graphql('EmailVerify: resendVerificationEmail, pending', RESEND, { email: 'frank@example.com' });
      await rec.graphql('EmailVerify: resendVerificationEmail, unknown', RESEND, { email: 'nobody@example.com' });
      await rec.graphql('EmailVerify: clientSaltSeed of a pending registration (the decoy)', SeedDocument, { email: 'frank@example.com' });
      rec.check();
    } finally {
      for (const server of servers) await server.close();
      await smtp.stop();
    }
  });

  it('when rate limits are spent or the database fails, then every response is the recorded one', async () => {
    class BrokenWalletRepository extends WalletRepository {
      override async find(): Promise<never> {
        throw new Error('SQLITE_ERROR: no such table: wallets (SELECT * FROM wallets) at /srv/app/src/db/x.ts:12');
      }
      override findWithToken(): Promise<never> {
        return this.find();
      }
    }
    const { server, rec } = await golden('failures', { RATE_LIMITS: 'on', RATE_LIMIT_PASSWORD_FAILURES_PER_ACCOUNT: '2/900' }, { repositories: { wallets: new BrokenWalletRepository() } });
    try {
      const email = 'gina@example.com';
      await rec.graphql('register', RegisterDocument, { input: { email, password: PASSWORD, clientSaltSeed: SEED } });
      const token = await loginAs(rec, 'login', email, PASSWORD, 'phone');
      await rec.graphql('walletState: the database fails (INTERNAL_SERVER_ERROR, nothing leaks)', WalletStateDocument, undefined, token);
      for (const attempt of [1, 2, 3]) {
        await rec.graphql(`login: wrong password, attempt ${attempt}`, LoginDocument, { input: { email, password: 'wrong password', deviceId: 'x' } });
      }
      await rec.graphql('login: the right password while locked (RATE_LIMITED)', LoginDocument, { input: { email, password: PASSWORD, deviceId: 'x' } });
      rec.check();
    } finally {
      await server.close();
    }
  });

  it('when an account has a second factor, then every response, the new errors included, is the recorded one', async () => {
    const { server, clock, rec } = await golden('second-factor');
    try {
      const email = 'hank@example.com';
      await rec.graphql('register', RegisterDocument, { input: { email, password: PASSWORD, clientSaltSeed: SEED } });
      const token = await loginAs(rec, 'login', email, PASSWORD, 'phone');
      await rec.graphql('me.secondFactor: none yet', SecondFactorStatusDocument, undefined, token);
      await rec.graphql('confirmTotp: no beginTotp before (BAD_USER_INPUT)', ConfirmTotpDocument, { code: '123456' }, token);
      await rec.graphql('beginTotp: wrong password (UNAUTHENTICATED)', BeginTotpDocument, { password: 'not the password' }, token);
      await rec.graphql('regenerateRecoveryCodes: no second factor (BAD_USER_INPUT)', RegenerateRecoveryCodesDocument, { password: PASSWORD }, token);
      // The secret is random: recorded by its name. Its codes are sent unrecorded, so no code (random too) is in the file.
      const begun = await rec.graphql('beginTotp: success', BeginTotpDocument, { password: PASSWORD }, token);
      const secret: string = begun.json.data.beginTotp.secret;
      rec.redact(secret, 'totp-secret');
      await rec.graphql('confirmTotp: 5 digits (BAD_USER_INPUT)', ConfirmTotpDocument, { code: '12345' }, token);
      const confirmed = await server.gql(ConfirmTotpDocument, { code: totpCode(secret, clock.now()) }, token);
      if (confirmed.body.errors) throw new Error(JSON.stringify(confirmed.body.errors));
      await rec.graphql('me.secondFactor: TOTP and 10 recovery codes', SecondFactorStatusDocument, undefined, token);
      const login = (secondFactor?: Record<string, unknown>) => ({ input: { email, password: PASSWORD, deviceId: 'laptop', ...(secondFactor ? { secondFactor } : {}) } });
      await rec.graphql('login: wrong password (UNAUTHENTICATED, as without a second factor)', LoginDocument, { input: { email, password: 'wrong password', deviceId: 'laptop' } });
      await rec.graphql('login: right password, no second factor (SECOND_FACTOR_REQUIRED with the methods)', LoginDocument, login());
      await rec.graphql('login: a wrong recovery code (SECOND_FACTOR_INVALID)', LoginDocument, login({ recoveryCode: '00000-00000' }));
      await rec.graphql('login: a TOTP code and a recovery code (BAD_USER_INPUT)', unchecked(LoginDocument), login({ totp: '123456', recoveryCode: '00000-00000' }));
      await rec.graphql('login: a TOTP code with a space (BAD_USER_INPUT)', unchecked(LoginDocument), login({ totp: '123 456' }));
      await rec.graphql('login: a recovery code outside the alphabet (BAD_USER_INPUT)', unchecked(LoginDocument), login({ recoveryCode: 'UUUUU-UUUUU' }));
      await rec.graphql('changePassword: no second factor (SECOND_FACTOR_REQUIRED)', CHANGE_PASSWORD_AS_RECORDED, {
        input: { email, oldPassword: PASSWORD, newPassword: 'a new password', clientSaltSeed: NEW_SEED },
      });
      await rec.graphql('deleteAccount: no second factor (SECOND_FACTOR_REQUIRED)', DeleteAccountDocument, { password: PASSWORD }, token);
      await rec.graphql('deleteAccount: a wrong recovery code (SECOND_FACTOR_INVALID)', DeleteAccountDocument, { password: PASSWORD, secondFactor: { recoveryCode: '00000-00000' } }, token);
      rec.check();
    } finally {
      await server.close();
    }
  });

  it('when live updates are subscribed to over WebSocket, then every frame is the recorded one', async () => {
    const { server, clock, rec } = await golden('subscriptions');
    try {
      const { phone, socket } = await phoneWithSocket(rec, server.url, 'hank@example.com');
      socket.send({ id: '1', type: 'subscribe', payload: { query: 'subscription W($s: Int) { walletUpdated(sinceSequence: $s) { sequence } }', variables: { s: 0 } } });
      await socket.frames(2);
      socket.send({ id: '2', type: 'subscribe', payload: { query: 'subscription { walletUpdated { sequence color } }' } });
      await socket.frames(3);
      socket.send({ id: '3', type: 'subscribe', payload: { query: '{ serverInfo { apiVersion } }' } });
      await socket.frames(5);
      clock.advance(1000);
      await update(rec, 'updateWalletState: sequence 2, while subscribed', phone, { encryptedWallet: 'wallet-2', sequence: 2, hmac: 'hmac-2' });
      await socket.frames(6);
      socket.send({ id: '1', type: 'complete' });
      await rec.graphql('logout: closes the connection', LogoutDocument, undefined, phone);
      const closed = await socket.closed;
      rec.note('WebSocket with a token: connection_init, subscribe, a validation error, a query, an update, logout', [...socket.log, `close ${closed}`]);

      const anonymous = await openSocket(server.url);
      anonymous.send({ type: 'connection_init', payload: {} });
      rec.note('WebSocket without a token', [...anonymous.log, `close ${await anonymous.closed}`]);
      const unknown = await openSocket(server.url);
      unknown.send({ type: 'connection_init', payload: { authorization: 'Bearer not-a-real-token' } });
      rec.note('WebSocket with an unknown token', [...unknown.log, `close ${await unknown.closed}`]);
      rec.check();
    } finally {
      await server.close();
    }
  });

  it('when a device sends its queries and mutations over its live connection, then each answer is the one HTTP gives, frame by frame', async () => {
    const { server, clock, rec } = await golden('socket-operations');
    try {
      const email = 'ivy@example.com';
      const { phone, socket } = await phoneWithSocket(rec, server.url, email);

      // Each operation over the socket, then the same over HTTP: the socket's answer is HTTP's body.
      const cases: Array<[title: string, query: string, variables?: Record<string, unknown>]> = [
        ['walletState', operationText(WalletStateDocument)],
        ['me', operationText(MeDocument)],
        ['walletHistory', operationText(WalletHistoryDocument), { sinceSequence: 0, limit: 10 }],
        ['updateWalletState: sequence 2', UPDATE_AS_RECORDED, { input: { encryptedWallet: 'wallet-2', sequence: 2, hmac: 'hmac-2' } }],
        ['updateWalletState: sequence 2 again, the same state (a safe retry)', UPDATE_AS_RECORDED, { input: { encryptedWallet: 'wallet-2', sequence: 2, hmac: 'hmac-2' } }],
        ['updateWalletState: sequence 2, another state (conflict)', UPDATE_AS_RECORDED, { input: { encryptedWallet: 'other', sequence: 2, hmac: 'other' } }],
        ['updateWalletState: sequence 0 (BAD_USER_INPUT)', UPDATE_AS_RECORDED, { input: { encryptedWallet: 'w', sequence: 0, hmac: 'h' } }],
        ['updateWalletState: a sequence that is not a number (BAD_USER_INPUT)', UPDATE_AS_RECORDED, { input: { encryptedWallet: 'w', sequence: 'three', hmac: 'h' } }],
        ['updateWalletState: a wallet over MAX_WALLET_BYTES (PAYLOAD_TOO_LARGE)', UPDATE_AS_RECORDED, { input: { encryptedWallet: 'x'.repeat(101), sequence: 3, hmac: 'h' } }],
        ['login takes no token (BAD_REQUEST)', operationText(LoginDocument), { input: { email, password: PASSWORD, deviceId: 'tablet' } }],
        ['serverInfo takes no token (BAD_REQUEST)', SERVER_INFO],
      ];
      let id = 0;
      for (const [title, query, variables] of cases) {
        id += 1;
        clock.advance(1000);
        const answer = await socket.operation(String(id), { query, variables });
        rec.note(`WebSocket: ${title}`, socket.log.splice(0));
        if (title.includes('BAD_REQUEST')) continue;
        clock.advance(0);
        const http = await rec.graphql(`HTTP: ${title}`, query, variables, phone);
        expect(answer).toEqual(http.json);
      }
      rec.check();
    } finally {
      await server.close();
    }
  });
});

interface RecordedSocket {
  log: string[];
  send(message: unknown): void;
  /** Resolves once `count` frames have arrived. */
  frames(count: number): Promise<void>;
  /** Sends one operation and resolves with its answer: the payload of its next frame, or its error frame's errors as { errors }. */
  operation(id: string, payload: { query: string; variables?: Record<string, unknown> }): Promise<unknown>;
  closed: Promise<string>;
}

async function openSocket(baseUrl: string): Promise<RecordedSocket> {
  const socket = new WebSocket(wsUrl(baseUrl), 'graphql-transport-ws');
  const log: string[] = [];
  let received = 0;
  let waiters: Array<{ count: number; resolve: () => void }> = [];
  const closed = new Promise<string>((resolve) => socket.on('close', (code, reason) => resolve(`${code} ${reason.toString()}`)));
  const answers = new Map<string, { next?: unknown; resolve: (answer: unknown) => void }>();
  socket.on('message', (data) => {
    log.push(`< ${data.toString()}`);
    received += 1;
    const message = JSON.parse(data.toString());
    const waiting = answers.get(message.id);
    if (waiting && message.type === 'next') waiting.next = message.payload;
    if (waiting && message.type === 'error') waiting.resolve({ errors: message.payload });
    if (waiting && message.type === 'complete') waiting.resolve(waiting.next);
    waiters = waiters.filter((w) => (w.count <= received ? (w.resolve(), false) : true));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const send = (message: unknown) => {
    const text = JSON.stringify(message);
    log.push(`> ${text}`);
    socket.send(text);
  };
  return {
    log,
    send,
    operation(id, payload) {
      const answer = new Promise<unknown>((resolve) => answers.set(id, { resolve }));
      send({ id, type: 'subscribe', payload });
      return answer;
    },
    frames: (count) => (received >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }))),
    closed,
  };
}
