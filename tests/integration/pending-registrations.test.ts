import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config';
import { dataSourceOptions, openDatabase } from '../../src/db/data-source';
import { AccountRepository } from '../../src/db/repositories/account.repository';
import { PendingRegistrationRepository } from '../../src/db/repositories/pending-registration.repository';
import { DEFAULT_KEY_PARAMS } from '../../src/lib/key-params';
import { hashVerificationCode } from '../../src/lib/verification-code';
import { createTestDatabase, hasMigration, testDialect, type TestDatabase } from '../../test-support/database';
import { useEmailVerifyServer } from '../helpers/hooks';
import { uniqueEmail } from '../../test-support/operations';
import { verificationCode } from '../helpers/smtp';

/** Below the API: the pending registrations of EmailVerify mode in the service and the repository, on the real database. */
const HOUR = 3600_000;

describe(`pending registrations: service and repository (${testDialect()})`, () => {
  const { server, mailed } = useEmailVerifyServer();
  const pendings = new PendingRegistrationRepository();
  const accounts = new AccountRepository();

  const registration = (email: string, passwordHash: string) => ({ email, passwordHash, clientSaltSeed: 'ab'.repeat(32), keyParams: DEFAULT_KEY_PARAMS });
  /** register answers before the registration is stored (issue 25, item 4): this waits for the store. */
  const registered = async (email: string, passwordHash: string) => {
    server.app.services.verification.register(registration(email, passwordHash));
    await server.app.services.verification.idle();
  };

  it('when registrations are stored, then they are listed newest first, only while live, and only five per email are kept', async () => {
    const verification = server.app.services.verification;
    const email = uniqueEmail();
    for (let i = 0; i < 7; i += 1) await registered(email, `hash-${i}`);
    const live = await verification.live(email);
    expect(live.map((r) => r.passwordHash)).toEqual(['hash-6', 'hash-5', 'hash-4', 'hash-3', 'hash-2']);
    const now = new Date();
    expect(await server.app.db.run((m) => pendings.listLive(m, email, new Date(now.getTime() + 49 * HOUR)))).toEqual([]);
    expect(await server.app.db.run((m) => pendings.purgeExpired(m, new Date(now.getTime() + 49 * HOUR)))).toBeGreaterThanOrEqual(5);
    expect(await verification.live(email)).toEqual([]);
  });

  it('when two registrations of one email are confirmed at once, then exactly one becomes the account and every pending one is gone', async () => {
    const verification = server.app.services.verification;
    const email = uniqueEmail();
    await registered(email, 'first-hash');
    await registered(email, 'second-hash');
    const [second, first] = await verification.live(email);
    const results = await Promise.all([verification.confirm(first, '127.0.0.1'), verification.confirm(second, '127.0.0.1')]);
    const made = results.filter((r) => r !== null);
    expect(made).toHaveLength(1);
    const account = await server.app.db.run((m) => accounts.findByEmail(m, email));
    expect(account).toMatchObject({ id: made[0]!.id, passwordHash: made[0]!.passwordHash, verified: true });
    expect(await verification.live(email)).toEqual([]);
  });

  it('when a code is matched, then only the registration it was mailed for answers, in any accepted spelling', async () => {
    const verification = server.app.services.verification;
    const email = uniqueEmail();
    await registered(email, 'one');
    const codeOne = verificationCode(await mailed(email));
    await registered(email, 'two');
    const codeTwo = verificationCode(await mailed(email));
    const live = await verification.live(email);
    expect(verification.matchCode(live, codeOne)?.passwordHash).toBe('one');
    expect(verification.matchCode(live, codeTwo.toLowerCase().replace('-', ''))?.passwordHash).toBe('two');
    expect(verification.matchCode(live, 'ZZZZ-ZZZZ')).toBeUndefined();
  });
});

(hasMigration('PendingRegistrations') ? describe : describe.skip)(`migrating protocol 1's unverified accounts (${testDialect()})`, () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await testDb.drop();
  });

  it('when a protocol-1 database holds unverified accounts, then they become pending registrations with their credentials, verified ones stay, and link tokens go', async () => {
    const options = dataSourceOptions(loadConfig({ DATABASE_URL: testDb.url }).database);
    const before = new DataSource({ ...options, migrations: (options.migrations as Function[]).slice(0, 2) } as typeof options);
    await before.initialize();
    await before.runMigrations({ transaction: 'each' });
    const insert = (email: string, verified: boolean) =>
      before.query(
        'INSERT INTO accounts (email, email_normalized, password_hash, client_salt_seed, verified, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        [email, email.toLowerCase(), `hash of ${email}`, 'cd'.repeat(32), verified, '2026-01-01 00:00:00.000'],
      );
    await insert('Pending@Migrate.example', false);
    await insert('verified@migrate.example', true);
    const [{ id: pendingId }] = await before.query("SELECT id FROM accounts WHERE email = 'Pending@Migrate.example'");
    await before.query('INSERT INTO verification_tokens (account_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)', [
      pendingId,
      'e'.repeat(64),
      '2026-01-01 00:00:00.000',
      '2026-01-03 00:00:00.000',
    ]);
    await before.destroy();

    const db = await openDatabase(loadConfig({ DATABASE_URL: testDb.url }).database);
    try {
      expect(await db.run((m) => new AccountRepository().findByEmail(m, 'pending@migrate.example'))).toBeNull();
      expect(await db.run((m) => new AccountRepository().findByEmail(m, 'verified@migrate.example'))).toMatchObject({ verified: true, keyN: 2 ** 20 });
      const [moved] = await db.run((m) => new PendingRegistrationRepository().listLive(m, 'pending@migrate.example', new Date()));
      expect(moved).toMatchObject({ email: 'Pending@Migrate.example', passwordHash: 'hash of Pending@Migrate.example', clientSaltSeed: 'cd'.repeat(32), keyN: 2 ** 20 });
      // No code works until the owner asks for one.
      expect(moved.codeHash).not.toMatch(/^[0-9a-f]{64}$/);
      expect(moved.codeHash).not.toBe(hashVerificationCode('0000-0000'));
      const tables: Array<Record<string, string>> =
        testDialect() === 'mysql'
          ? await db.dataSource.query("SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'verification_tokens'")
          : await db.dataSource.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'verification_tokens'");
      expect(tables).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
