import { AccountRepository } from '../../src/db/repositories/account.repository';
import { AuthTokenRepository } from '../../src/db/repositories/auth-token.repository';
import { WalletRepository } from '../../src/db/repositories/wallet.repository';
import { insertAccount, testDialect } from '../../test-support/database';
import { useTestDatabase } from '../helpers/hooks';

/**
 * The repositories against the real database of this pass (SQLite, or MariaDB
 * when DATABASE_URL is mysql://): the statements the rules rest on, below any
 * service. Times are whole milliseconds, which both dialects keep.
 */
describe(`repositories on ${testDialect()}`, () => {
  const database = useTestDatabase();
  const accounts = new AccountRepository();
  const tokens = new AuthTokenRepository();
  const wallets = new WalletRepository();
  const at = (iso: string) => new Date(iso);
  const newAccount = async (passwordHash = 'hash-1') => (await insertAccount(database.db, { passwordHash })).id;
  const state = (sequence: number, tag = 'a') => ({
    encryptedWallet: `wallet-${sequence}-${tag}`,
    hmac: `hmac-${sequence}-${tag}`,
    sequence,
    updatedAt: at(`2026-01-0${Math.min(sequence, 9)}T12:00:00.123Z`),
  });

  describe('WalletRepository.compareAndSet', () => {
    it('when the account has no wallet, then sequence 1 is inserted and read back exactly', async () => {
      const id = await newAccount();
      expect(await database.db.run((m) => wallets.compareAndSet(m, id, state(1)))).toBe(true);
      expect(await database.db.run((m) => wallets.find(m, id))).toEqual({ accountId: id, ...state(1) });
    });

    it.each([
      ['a second sequence 1 (the insert path)', 1],
      ['the current sequence again', 2],
      ['a sequence that skips one', 4],
    ])('when the wallet is at 2 and %s is written, then nothing is written', async (_name, sequence) => {
      const id = await newAccount();
      await database.db.run((m) => wallets.compareAndSet(m, id, state(1)));
      await database.db.run((m) => wallets.compareAndSet(m, id, state(2)));
      expect(await database.db.run((m) => wallets.compareAndSet(m, id, state(sequence, 'late')))).toBe(false);
      expect(await database.db.run((m) => wallets.find(m, id))).toEqual({ accountId: id, ...state(2) });
    });

    it('when a wallet does not exist, then a sequence above 1 is not written', async () => {
      const id = await newAccount();
      expect(await database.db.run((m) => wallets.compareAndSet(m, id, state(2)))).toBe(false);
      expect(await database.db.run((m) => wallets.find(m, id))).toBeNull();
    });

    it('when many writes of the same next sequence run at once, then exactly one lands', async () => {
      const id = await newAccount();
      await database.db.run((m) => wallets.compareAndSet(m, id, state(1)));
      const landed = await Promise.all(Array.from({ length: 12 }, (_, i) => database.db.run((m) => wallets.compareAndSet(m, id, state(2, `racer-${i}`)))));
      expect(landed.filter(Boolean)).toHaveLength(1);
      const winner = landed.indexOf(true);
      expect(await database.db.run((m) => wallets.find(m, id))).toMatchObject({ sequence: 2, encryptedWallet: `wallet-2-racer-${winner}` });
    });

    it('when the write runs in a transaction that rolls back, then it is undone', async () => {
      const id = await newAccount();
      await expect(
        database.db.transaction(async (m) => {
          await wallets.compareAndSet(m, id, state(1));
          throw new Error('a later step failed');
        }),
      ).rejects.toThrow('a later step failed');
      expect(await database.db.run((m) => wallets.find(m, id))).toBeNull();
    });
  });

  describe('WalletRepository.findWithToken (the read path: one statement)', () => {
    it.each([
      ['an unknown token hash', false, false, null],
      ['a token of an account without a wallet', true, false, 'no wallet'],
      ['a token of an account with a wallet', true, true, 'wallet'],
    ])('when looked up with %s, then the answer matches', async (_name, withToken, withWallet, expected) => {
      const id = await newAccount();
      const tokenHash = `hash-${id}`;
      if (withToken) {
        await database.db.run((m) =>
          tokens.upsertForDevice(m, {
            accountId: id,
            deviceId: 'phone',
            tokenHash,
            createdAt: at('2026-01-01T00:00:00Z'),
            lastUsedAt: at('2026-01-01T00:00:00Z'),
            expiresAt: at('2026-01-15T00:00:00Z'),
          }),
        );
      }
      if (withWallet) await database.db.run((m) => wallets.compareAndSet(m, id, state(1)));
      const found = await database.db.run((m) => wallets.findWithToken(m, tokenHash));
      if (expected === null) return expect(found).toBeNull();
      expect(found!.token).toMatchObject({ accountId: id, deviceId: 'phone', expiresAt: at('2026-01-15T00:00:00Z') });
      expect(found!.wallet).toEqual(expected === 'wallet' ? { accountId: id, ...state(1) } : null);
    });
  });

  describe('AuthTokenRepository', () => {
    const token = (accountId: number, deviceId: string, tokenHash: string, expiresAt = at('2026-01-15T00:00:00Z')) => ({
      accountId,
      deviceId,
      tokenHash,
      createdAt: at('2026-01-01T00:00:00Z'),
      lastUsedAt: at('2026-01-01T00:00:00Z'),
      expiresAt,
    });

    it("when a device logs in again, then its new token replaces the old one and the other devices' stay", async () => {
      const id = await newAccount();
      await database.db.run((m) => tokens.upsertForDevice(m, token(id, 'phone', `old-${id}`)));
      await database.db.run((m) => tokens.upsertForDevice(m, token(id, 'laptop', `laptop-${id}`)));
      await database.db.run((m) => tokens.upsertForDevice(m, token(id, 'phone', `new-${id}`)));
      expect(await database.db.run((m) => tokens.findByHash(m, `old-${id}`))).toBeNull();
      expect(await database.db.run((m) => tokens.findByHash(m, `new-${id}`))).toMatchObject({ accountId: id, deviceId: 'phone' });
      expect((await database.db.run((m) => tokens.listForAccount(m, id))).map((t) => t.deviceId).sort()).toEqual(['laptop', 'phone']);
    });

    it('when tokens are purged at a time, then exactly those expired by then are gone', async () => {
      const id = await newAccount();
      await database.db.run((m) => tokens.upsertForDevice(m, token(id, 'expired', `expired-${id}`, at('2020-01-01T00:00:00Z'))));
      await database.db.run((m) => tokens.upsertForDevice(m, token(id, 'live', `live-${id}`, at('2030-01-01T00:00:00Z'))));
      expect(await database.db.run((m) => tokens.purgeExpired(m, at('2026-01-01T00:00:00Z')))).toBeGreaterThanOrEqual(1);
      expect((await database.db.run((m) => tokens.listForAccount(m, id))).map((t) => t.deviceId)).toEqual(['live']);
    });

    it("when one device's token is deleted, then only that device is signed out", async () => {
      const id = await newAccount();
      await database.db.run((m) => tokens.upsertForDevice(m, token(id, 'phone', `phone-${id}`)));
      await database.db.run((m) => tokens.upsertForDevice(m, token(id, 'laptop', `laptop2-${id}`)));
      expect(await database.db.run((m) => tokens.deleteForDevice(m, id, 'phone'))).toBe(true);
      expect(await database.db.run((m) => tokens.deleteForDevice(m, id, 'phone'))).toBe(false);
      expect((await database.db.run((m) => tokens.listForAccount(m, id))).map((t) => t.deviceId)).toEqual(['laptop']);
    });
  });

  describe('AccountRepository.lockIfPasswordHash', () => {
    it('when the hash is still the one read, then true; after the credentials change, then false', async () => {
      const id = await newAccount('hash-before');
      expect(await database.db.transaction((m) => accounts.lockIfPasswordHash(m, id, 'hash-before'))).toBe(true);
      await database.db.run((m) => accounts.updateCredentials(m, id, 'hash-after', 'cd'.repeat(32)));
      expect(await database.db.transaction((m) => accounts.lockIfPasswordHash(m, id, 'hash-before'))).toBe(false);
      expect(await database.db.run((m) => accounts.findById(m, id))).toMatchObject({ passwordHash: 'hash-after', clientSaltSeed: 'cd'.repeat(32) });
    });
  });
});
