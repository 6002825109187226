import { randomBytes } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { loadConfig } from '../../src/config';
import { dataSourceOptions, openDatabase } from '../../src/db/data-source';
import { AccountRepository } from '../../src/db/repositories/account.repository';
import { AuthTokenRepository } from '../../src/db/repositories/auth-token.repository';
import { normalizeEmail } from '../../src/lib/email';
import { createTestDatabase, hasMigration, testDialect, type TestDatabase } from '../../test-support/database';
import { useTestDatabase } from '../helpers/hooks';

/**
 * Below the API: the repositories compare identifying columns byte for byte on
 * this dialect, and the migration moves existing keys to NFC without losing an account.
 */
const NOW = new Date('2026-01-01T00:00:00.000Z');
const account = (email: string, emailNormalized = normalizeEmail(email)) => ({
  email,
  emailNormalized,
  passwordHash: 'hash',
  clientSaltSeed: '0'.repeat(64),
  verified: true,
  keyN: 2 ** 17,
  keyR: 8,
  keyP: 1,
  createdAt: NOW,
});

describe(`identity in the database (${testDialect()})`, () => {
  const database = useTestDatabase();
  const accounts = new AccountRepository();
  /** Every insert here has an email of its own. */
  const insert = async (m: EntityManager, row: ReturnType<typeof account>) => {
    const id = await accounts.insert(m, row);
    if (id === 'taken') throw new Error(`${row.email} is taken`);
    return id;
  };
  const tokens = new AuthTokenRepository();

  it.each([
    ['an accented variant', 'j\u00f6e'],
    ['a zero-width space', 'jo\u200be'],
    ['a full-width letter', 'jo\uff45'],
  ])('when an account key is looked up with %s, then nothing is found and the variant may be inserted beside it', async (_case, local) => {
    const domain = `@${randomBytes(4).toString('hex')}.example`;
    const id = await database.db.run((m) => insert(m, account(`joe${domain}`)));
    const variant = `${local}${domain}`;
    expect(await database.db.run((m) => accounts.findByEmail(m, variant))).toBeNull();
    const other = await database.db.run((m) => insert(m, account(variant)));
    expect(other).not.toBe(id);
    expect((await database.db.run((m) => accounts.findByEmail(m, variant)))?.id).toBe(other);
    expect((await database.db.run((m) => accounts.findByEmail(m, `joe${domain}`)))?.id).toBe(id);
  });

  it('when deviceIds differ in case, then they hold separate tokens and deleting one leaves the other', async () => {
    const id = await database.db.run((m) => insert(m, account(`devices@${randomBytes(4).toString('hex')}.example`)));
    const token = (deviceId: string, tokenHash: string) => ({ accountId: id, deviceId, tokenHash, createdAt: NOW, lastUsedAt: NOW, expiresAt: NOW });
    await database.db.run((m) => tokens.upsertForDevice(m, token('laptop', 'a'.repeat(64))));
    await database.db.run((m) => tokens.upsertForDevice(m, token('LAPTOP', 'b'.repeat(64))));
    expect((await database.db.run((m) => tokens.listForAccount(m, id))).map((t) => t.deviceId).sort()).toEqual(['LAPTOP', 'laptop']);
    expect(await database.db.run((m) => tokens.deleteForDevice(m, id, 'Laptop'))).toBe(false);
    expect(await database.db.run((m) => tokens.deleteForDevice(m, id, 'LAPTOP'))).toBe(true);
    expect((await database.db.run((m) => tokens.listForAccount(m, id))).map((t) => t.deviceId)).toEqual(['laptop']);
    // Token hashes are lower-case hex: another case is another (unknown) token.
    expect(await database.db.run((m) => tokens.findByHash(m, 'A'.repeat(64)))).toBeNull();
    expect((await database.db.run((m) => tokens.findByHash(m, 'a'.repeat(64))))?.deviceId).toBe('laptop');
  });

  it.each([
    ['a trailing space', 'laptop '],
    ['two trailing spaces', 'laptop  '],
  ])('when a deviceId is named with %s, then it is another device: deleting it leaves laptop\'s token', async (_case, variant) => {
    const id = await database.db.run((m) => insert(m, account(`pad@${randomBytes(4).toString('hex')}.example`)));
    await database.db.run((m) => tokens.upsertForDevice(m, { accountId: id, deviceId: 'laptop', tokenHash: randomBytes(32).toString('hex'), createdAt: NOW, lastUsedAt: NOW, expiresAt: NOW }));
    expect(await database.db.run((m) => tokens.deleteForDevice(m, id, variant))).toBe(false);
    expect((await database.db.run((m) => tokens.listForAccount(m, id))).map((t) => t.deviceId)).toEqual(['laptop']);
  });

  if (testDialect() === 'postgres') {
    it('when the schema is inspected, then every identifying column has the byte-wise "C" collation', async () => {
      const rows: Array<{ table: string; column: string; collation: string | null }> = await database.db.dataSource.query(
        `SELECT table_name AS "table", column_name AS "column", collation_name AS collation FROM information_schema.columns
         WHERE table_schema = current_schema() AND column_name IN ('email_normalized', 'device_id', 'token_hash', 'code_hash')`,
      );
      expect(rows.length).toBeGreaterThanOrEqual(9);
      for (const row of rows) expect(`${row.table}.${row.column} ${row.collation}`).toBe(`${row.table}.${row.column} C`);
    });
  }

  if (testDialect() === 'mysql') {
    it('when the schema is inspected, then every identifying column has a binary no-pad collation', async () => {
      const rows: Array<{ table: string; column: string; collation: string }> = await database.db.dataSource.query(
        `SELECT TABLE_NAME AS \`table\`, COLUMN_NAME AS \`column\`, COLLATION_NAME AS collation FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME IN ('email_normalized', 'device_id', 'token_hash', 'code_hash')`,
      );
      expect(rows.length).toBeGreaterThanOrEqual(9);
      for (const row of rows) expect(`${row.table}.${row.column} ${row.collation}`).toBe(`${row.table}.${row.column} utf8mb4_nopad_bin`);
    });
  }
});

(hasMigration('ExactIdentity') ? describe : describe.skip)(`migrating a protocol-1 database (${testDialect()})`, () => {
  let testDb: TestDatabase;
  beforeEach(async () => {
    testDb = await createTestDatabase();
  });
  afterEach(async () => {
    await testDb.drop();
  });

  /** A database at the last migration before exact identity, as a protocol-1 server left it. */
  async function protocol1Database(rows: Array<{ email: string }>): Promise<number[]> {
    const options = dataSourceOptions(loadConfig({ DATABASE_URL: testDb.url }).database);
    const before = new DataSource({ ...options, migrations: (options.migrations as Function[]).slice(0, 2) } as typeof options);
    await before.initialize();
    await before.runMigrations({ transaction: 'each' });
    const ids: number[] = [];
    for (const row of rows) {
      // Protocol 1 keyed accounts by the lower-cased email only.
      await before.query(
        'INSERT INTO accounts (email, email_normalized, password_hash, client_salt_seed, verified, created_at) VALUES (?, ?, ?, ?, 1, ?)',
        [row.email, row.email.toLowerCase(), 'hash', '0'.repeat(64), '2026-01-01 00:00:00.000'],
      );
      const [{ id }] = await before.query('SELECT MAX(id) AS id FROM accounts');
      ids.push(Number(id));
      await before.query('INSERT INTO wallets (account_id, encrypted_wallet, hmac, sequence, updated_at) VALUES (?, ?, ?, 1, ?)', [
        ids.at(-1),
        `wallet of ${row.email}`,
        'h',
        '2026-01-01 00:00:00.000',
      ]);
    }
    await before.destroy();
    return ids;
  }

  it('when an existing key is not NFC, then it becomes NFC and the account is found by any form of its email', async () => {
    const [decomposed, plain] = await protocol1Database([{ email: 'Jo\u0308e@migrate.example' }, { email: 'Plain@migrate.example' }]);
    const db = await openDatabase(loadConfig({ DATABASE_URL: testDb.url }).database);
    try {
      const accounts = new AccountRepository();
      expect((await db.run((m) => accounts.findByEmail(m, normalizeEmail('J\u00d6E@migrate.example'))))?.id).toBe(decomposed);
      expect((await db.run((m) => accounts.findById(m, decomposed)))?.email).toBe('Jo\u0308e@migrate.example');
      expect((await db.run((m) => accounts.findByEmail(m, 'plain@migrate.example')))?.id).toBe(plain);
    } finally {
      await db.close();
    }
  });

  it('when accounts from before protocol 2 are migrated, then they carry the key parameters they derived with: N=2^20, r=8, p=1', async () => {
    const [id] = await protocol1Database([{ email: 'old@migrate.example' }]);
    const db = await openDatabase(loadConfig({ DATABASE_URL: testDb.url }).database);
    try {
      expect(await db.run((m) => new AccountRepository().findById(m, id))).toMatchObject({ keyN: 2 ** 20, keyR: 8, keyP: 1 });
    } finally {
      await db.close();
    }
  });

  if (testDialect() === 'sqlite') {
    // MariaDB's old collation already refused the second of these; SQLite kept both.
    it('when two existing accounts collide after normalization, then the holder of the NFC key keeps it and the other keeps its old key and all its data', async () => {
      const [older, newer] = await protocol1Database([{ email: 'jo\u0308e@collide.example' }, { email: 'j\u00f6e@collide.example' }]);
      const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
      const db = await openDatabase(loadConfig({ DATABASE_URL: testDb.url }).database);
      try {
        const accounts = new AccountRepository();
        expect((await db.run((m) => accounts.findByEmail(m, normalizeEmail('jo\u0308e@collide.example'))))?.id).toBe(newer);
        expect((await db.run((m) => accounts.findById(m, older)))?.emailNormalized).toBe('jo\u0308e@collide.example');
        const wallets: Array<{ account_id: number; encrypted_wallet: string }> = await db.dataSource.query('SELECT account_id, encrypted_wallet FROM wallets ORDER BY account_id');
        expect(wallets).toEqual([
          { account_id: older, encrypted_wallet: 'wallet of jo\u0308e@collide.example' },
          { account_id: newer, encrypted_wallet: 'wallet of j\u00f6e@collide.example' },
        ]);
        expect(warn).toHaveBeenCalledWith(expect.stringContaining(`accounts ${older} share their normalized email`), expect.anything());
      } finally {
        warn.mockRestore();
        await db.close();
      }
    });
  }
});
