import pino from 'pino';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { KnownDeviceRepository } from '../../src/db/repositories/known-device.repository';
import type { AuthSession } from '../../src/services/session';
import { TEST_ENV } from '../../test-support/test-env';
import { ManualClock } from '../helpers/clock';
import { createTestDatabase, queryRows, testDialect, type TestDatabase } from '../../test-support/database';

const DAY = 24 * 60 * 60 * 1000;

/** The services and repositories of wallet history and the security log, on the real database, without HTTP. */
describe(`wallet history and the security log below the API (${testDialect()})`, () => {
  let database: TestDatabase;
  const clock = new ManualClock(new Date('2026-06-01T00:00:00.000Z'));
  const apps: App[] = [];

  const open = async (env: Record<string, string> = {}) => {
    const app = await createApp(loadConfig({ ...TEST_ENV, DATABASE_URL: database.url, ...env }), { logger: pino({ level: 'silent' }), clock });
    apps.push(app);
    return app;
  };
  const emails = new Map<number, string>();
  const newAccount = async (app: App) => {
    const email = `u-${Math.random().toString(16).slice(2)}@example.com`;
    await app.services.accounts.register({ email, password: 'a long password', clientSaltSeed: 'ab'.repeat(32) }, '192.0.2.1');
    const id = (await app.db.run((m) => queryRows(m, 'SELECT id FROM accounts WHERE email = ?', [email])))[0].id as number;
    emails.set(id, email);
    return id;
  };
  /** A signed-in device of the account: an upload is written only while its token exists. */
  const sessions = new Map<string, AuthSession>();
  const sessionOf = async (app: App, accountId: number, deviceId: string) => {
    const key = `${accountId}/${deviceId}`;
    if (!sessions.has(key)) {
      const { token } = await app.services.sessions.login({ email: emails.get(accountId)!, password: 'a long password', deviceId, ip: '192.0.2.1' });
      sessions.set(key, await app.services.sessions.authenticate(token));
    }
    return sessions.get(key)!;
  };
  const put = async (app: App, accountId: number, sequence: number, deviceId = 'd1') =>
    app.services.wallets.update(await sessionOf(app, accountId, deviceId), { encryptedWallet: `content-${sequence}`, sequence, hmac: `h${sequence}` }, '192.0.2.1');

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await database.drop();
  });

  it('when a state is accepted, then its header is there; when it conflicts, then nothing is added', async () => {
    const app = await open({ WALLET_VERSIONS_KEPT: '2' });
    const accountId = await newAccount(app);
    expect((await put(app, accountId, 1)).kind).toBe('success');
    expect((await put(app, accountId, 1, 'd2')).kind).toBe('success'); // the same state again: a retry
    expect((await app.services.wallets.update(await sessionOf(app, accountId, 'd2'), { encryptedWallet: 'other', sequence: 1, hmac: 'x' })).kind).toBe('conflict');
    expect((await put(app, accountId, 2, 'd2')).kind).toBe('success');
    expect((await put(app, accountId, 3)).kind).toBe('success');
    const headers = await app.services.history.headers(accountId, 0, 10);
    expect(headers.map((h) => [h.sequence, h.deviceId, h.contentKept])).toEqual([
      [1, 'd1', false],
      [2, 'd2', true],
      [3, 'd1', true],
    ]);
    expect(await app.services.history.version(accountId, 1)).toBeNull();
    expect(await app.services.history.version(accountId, 2)).toMatchObject({ encryptedWallet: 'content-2', hmac: 'h2', sequence: 2 });
  });

  it('when the server restarts with fewer versions kept, then the maintenance pass drops the contents beyond the new window', async () => {
    const before = await open({ WALLET_VERSIONS_KEPT: '5' });
    const accountId = await newAccount(before);
    for (let sequence = 1; sequence <= 5; sequence += 1) await put(before, accountId, sequence);
    expect((await before.services.history.headers(accountId, 0, 10)).every((h) => h.contentKept)).toBe(true);
    const after = await open({ WALLET_VERSIONS_KEPT: '2' });
    await after.runMaintenance();
    expect((await after.services.history.headers(accountId, 0, 10)).map((h) => h.contentKept)).toEqual([false, false, false, true, true]);
    const stored = await after.db.run((m) => queryRows(m, 'SELECT COUNT(*) AS n FROM wallet_versions WHERE account_id = ? AND encrypted_wallet IS NOT NULL', [accountId]));
    expect(Number(stored[0].n)).toBe(2);
  });

  it('when the same device is remembered by concurrent logins, then exactly one of them is told it is new', async () => {
    const app = await open();
    const accountId = await newAccount(app);
    const known = new KnownDeviceRepository();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => app.db.transaction((m) => known.remember(m, accountId, 'twin', clock.now()))),
    );
    expect(answers.filter(Boolean)).toHaveLength(1);
    expect(await app.db.run((m) => known.remember(m, accountId, 'Twin', clock.now()))).toBe(true);
  });

  it('when events age past the retention, then purgeExpired removes exactly those', async () => {
    const app = await open({ ACTIVITY_RETENTION_DAYS: '10' });
    const accountId = await newAccount(app);
    await app.services.activity.record({ accountId, kind: 'LOGOUT', deviceId: 'old' });
    clock.advance(5 * DAY);
    await app.services.activity.record({ accountId, kind: 'LOGOUT', deviceId: 'young' });
    clock.advance(6 * DAY);
    expect(await app.services.activity.purgeExpired()).toBeGreaterThanOrEqual(2); // the registration and 'old'
    expect((await app.services.activity.list(accountId, null, 10)).map((e) => e.deviceId)).toEqual(['young']);
  });

  it('when an event is recorded inside a transaction that rolls back, then it is gone with it', async () => {
    const app = await open();
    const accountId = await newAccount(app);
    await expect(
      app.db.transaction(async (m) => {
        await app.services.activity.recordIn(m, { accountId, kind: 'PASSWORD_CHANGED', ip: '192.0.2.1' });
        throw new Error('the operation failed');
      }),
    ).rejects.toThrow('the operation failed');
    expect((await app.services.activity.list(accountId, null, 10)).map((e) => e.kind)).toEqual(['REGISTERED']);
  });
});
