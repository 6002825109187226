import { AccountEventRepository } from '../../src/db/repositories/account-event.repository';
import { AuthTokenRepository } from '../../src/db/repositories/auth-token.repository';
import { WalletHistoryRepository } from '../../src/db/repositories/wallet-history.repository';
import { WalletRepository } from '../../src/db/repositories/wallet.repository';
import { inProcessTransport } from '../../src/events/transport';
import { WalletUpdateFeed } from '../../src/events/wallet-updates';
import { DomainError, ErrorCode } from '../../src/errors';
import { ActivityLog } from '../../src/services/activity.service';
import { WalletCommit } from '../../src/services/wallet-commit';
import { WalletService, type WalletWriteKind, type WalletWriteResult } from '../../src/services/wallet.service';
import { ManualClock } from '../helpers/clock';
import { insertAccount, testDialect } from '../../test-support/database';
import { useTestDatabase } from '../helpers/hooks';
import { RecordedEvents, rethrow } from '../helpers/recorders';

/**
 * The sequence rule in WalletService, on the real database of this pass, with a
 * clock the test moves: what is stored, what is answered, what is announced and
 * what the wallet-write metric is told.
 */
describe(`WalletService on ${testDialect()}`, () => {
  const database = useTestDatabase();
  const clock = new ManualClock(new Date('2026-03-01T08:00:00.000Z'));
  const transport = inProcessTransport();
  let events: RecordedEvents;
  let writes: WalletWriteResult[];
  let wallets: WalletService;
  const MAX_WALLET_BYTES = 64;
  beforeEach(() => {
    const { db } = database;
    events = new RecordedEvents();
    writes = [];
    const rows = new WalletRepository();
    const history = new WalletHistoryRepository();
    const activity = new ActivityLog({ db, accountEvents: new AccountEventRepository(), clock, retentionDays: 90, reportError: rethrow });
    const commit = new WalletCommit({ wallets: rows, history, activity, versionsKept: 10 });
    wallets = new WalletService({
      db,
      wallets: rows,
      commit,
      clock,
      events,
      observeWrite: (result) => writes.push(result),
      maxWalletBytes: MAX_WALLET_BYTES,
    });
  });

  /** Each account's phone token: an upload is written only while its token still exists. */
  const phoneTokens = new Map<number, number>();
  const newAccount = async () => {
    const { id } = await insertAccount(database.db);
    phoneTokens.set(id, await insertToken(id, 'phone'));
    return id;
  };
  const insertToken = async (accountId: number, deviceId: string) => {
    const now = clock.now();
    const tokens = new AuthTokenRepository();
    return database.db.run(async (m) => {
      await tokens.upsertForDevice(m, { accountId, deviceId, tokenHash: `hash-${accountId}-${deviceId}`, createdAt: now, lastUsedAt: now, expiresAt: new Date(now.getTime() + 86_400_000) });
      return (await tokens.findByHash(m, `hash-${accountId}-${deviceId}`))!.id;
    });
  };
  const phone = (accountId: number) => ({ accountId, deviceId: 'phone', tokenId: phoneTokens.get(accountId)! });
  const upload = (sequence: number, tag = 'a') => ({ encryptedWallet: `w${sequence}${tag}`, sequence, hmac: `h${sequence}${tag}` });

  describe('update (an upload)', () => {
    it.each<[string, (accountId: number) => Promise<unknown>]>([
      ['its token was deleted (a password change, logout or revocation)', (accountId) => database.db.run((m) => new AuthTokenRepository().deleteAllForAccount(m, accountId))],
      ['its token was replaced by a new login of the device', (accountId) => database.db.run((m) => new AuthTokenRepository().deleteForDevice(m, accountId, 'phone')).then(() => insertToken(accountId, 'phone'))],
    ])('when %s after the upload authenticated, then the upload is refused UNAUTHENTICATED inside its transaction and nothing is written', async (_case, revoke) => {
      const id = await newAccount();
      const session = phone(id);
      await revoke(id);
      await expect(wallets.update(session, upload(1))).rejects.toMatchObject({ code: ErrorCode.Unauthenticated });
      expect(await wallets.get(id)).toBeNull();
      expect(events.log).toEqual([]);
    });

    it('when the first state is uploaded, then it is stored stamped with the clock, announced once and counted as a success', async () => {
      const id = await newAccount();
      const outcome = await wallets.update(phone(id), upload(1));
      expect(outcome).toMatchObject({ kind: 'success', wallet: { ...upload(1), updatedAt: clock.now() } });
      expect(await wallets.get(id)).toMatchObject({ ...upload(1), updatedAt: clock.now() });
      expect(events.log).toEqual([['walletUpdated', id, 1]]);
      expect(writes).toEqual(['success']);
    });

    it('when the current state is sent again later, then it is a success with the stored state, nothing is announced and it counts as a retry', async () => {
      const id = await newAccount();
      await wallets.update(phone(id), upload(1));
      const storedAt = clock.now();
      clock.advance(60_000);
      const outcome = await wallets.update(phone(id), upload(1));
      expect(outcome).toMatchObject({ kind: 'success', wallet: { ...upload(1), updatedAt: storedAt } });
      expect(events.log).toEqual([['walletUpdated', id, 1]]);
      expect(writes).toEqual(['success', 'retry']);
    });

    it.each([
      ['the current sequence with other content', upload(2, 'other')],
      ['a sequence that skips one', upload(4)],
      ['sequence 1 again with other content', upload(1, 'other')],
    ])('when %s is uploaded, then a conflict carries the latest state, nothing changes and nothing is announced', async (_name, late) => {
      const id = await newAccount();
      await wallets.update(phone(id), upload(1));
      await wallets.update(phone(id), upload(2));
      const outcome = await wallets.update(phone(id), late);
      expect(outcome).toMatchObject({ kind: 'conflict', latest: upload(2) });
      expect(await wallets.get(id)).toMatchObject(upload(2));
      expect(events.log).toEqual([
        ['walletUpdated', id, 1],
        ['walletUpdated', id, 2],
      ]);
      expect(writes).toEqual(['success', 'success', 'conflict']);
    });

    it('when the encrypted wallet is over MAX_WALLET_BYTES (in UTF-8), then PAYLOAD_TOO_LARGE with the limit and nothing is counted', async () => {
      const id = await newAccount();
      // 22 three-byte characters: 66 bytes, though only 22 UTF-16 units.
      const error = await wallets.update(phone(id), { ...upload(1), encryptedWallet: '€'.repeat(22) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ code: ErrorCode.PayloadTooLarge, details: { maxWalletBytes: MAX_WALLET_BYTES } });
      expect(await wallets.get(id)).toBeNull();
      expect(writes).toEqual([]);
    });
  });

  describe('write (the one rule, inside the caller’s transaction)', () => {
    it.each<[string, WalletWriteKind, number | null, ReturnType<typeof upload>, WalletWriteResult]>([
      ['an upload creates the wallet at 1', 'upload', null, upload(1), 'success'],
      ['a re-encryption never creates the wallet', 'reencryption', null, upload(1), 'conflict'],
      ['a re-encryption at a sequence above 1 with no wallet', 'reencryption', null, upload(2), 'conflict'],
      ['a re-encryption replaces the wallet at exactly + 1', 'reencryption', 1, upload(2), 'success'],
      ['a re-encryption that repeats the current state is not a retry', 'reencryption', 1, upload(1), 'conflict'],
      ['an upload that repeats the current state is a retry', 'upload', 1, upload(1), 'retry'],
      ['a re-encryption that skips a sequence', 'reencryption', 1, upload(3), 'conflict'],
    ])('when %s, then the result is as the rule says and the metric is told', async (_name, kind, existing, state, expected) => {
      const id = await newAccount();
      if (existing) await wallets.update(phone(id), upload(existing));
      writes = [];
      const written = await database.db.transaction((m) => wallets.write(m, { accountId: id, upload: state, now: clock.now(), kind, writer: { deviceId: 'phone' } }));
      expect(written.result).toBe(expected);
      expect(written.kind).toBe(expected === 'conflict' ? 'conflict' : 'success');
      expect(writes).toEqual([expected]);
      const stored = await wallets.get(id);
      if (expected === 'success') expect(stored).toMatchObject(state);
      else expect(stored?.sequence ?? null).toBe(existing);
    });

    it('when the caller’s transaction rolls back after a successful write, then the wallet is as before', async () => {
      const id = await newAccount();
      await wallets.update(phone(id), upload(1));
      await expect(
        database.db.transaction(async (m) => {
          const written = await wallets.write(m, { accountId: id, upload: upload(2), now: clock.now(), kind: 'reencryption', writer: { deviceId: null } });
          expect(written.result).toBe('success');
          throw new Error('a later step of the transaction failed');
        }),
      ).rejects.toThrow('a later step');
      expect(await wallets.get(id)).toMatchObject(upload(1));
    });
  });

  describe('the walletUpdated stream, reading the current state from this service as the app wires it', () => {
    it('when a device subscribes behind the server, then the current sequence comes first and later writes follow in order', async () => {
      const id = await newAccount();
      await wallets.update(phone(id), upload(1));
      await wallets.update(phone(id), upload(2));
      const feed = new WalletUpdateFeed(transport, (accountId) => wallets.get(accountId), rethrow);
      const stream = feed.stream(id, 1);
      const first = (await stream.next()).value!;
      expect(first.sequence).toBe(2);
      // The catch-up carries the state it read: the one this service stores.
      expect(await first.state()).toMatchObject(upload(2));
      // The wallet service announces to the recorder; the stream hears the transport.
      transport.pubSub.publish('WALLET_UPDATED', String(id), { sequence: 3 });
      transport.pubSub.publish('WALLET_UPDATED', String(id), { sequence: 3 });
      transport.pubSub.publish('WALLET_UPDATED', String(id + 1), { sequence: 9 });
      transport.pubSub.publish('WALLET_UPDATED', String(id), { sequence: 4 });
      expect((await stream.next()).value?.sequence).toBe(3);
      expect((await stream.next()).value?.sequence).toBe(4);
      await stream.return?.();
    });
  });
});
