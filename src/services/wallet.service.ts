import type { EntityManager } from 'typeorm';
import type { Database } from '../db/database';
import type { WalletRepository } from '../db/repositories/wallet.repository';
import type { DomainEvents } from '../events/domain-events';
import { payloadTooLarge, unauthenticated } from '../errors';
import type { Clock } from '../lib/clock';
import type { AuthSession } from './session';
import type { StateWriter, WalletCommit } from './wallet-commit';
import type { WalletState, WalletUpload, WalletWriteOutcome } from './wallet-state';

/** The result of one wallet write, as the wallet-write metric counts it: stored, already current, or refused. */
export type WalletWriteResult = 'success' | 'retry' | 'conflict';

/**
 * What is being written. `upload`: a device's next state (updateWalletState);
 * sequence 1 creates the wallet, and re-sending the state that is already
 * current is a success. `reencryption`: the wallet a password change carries,
 * re-encrypted under the new keys; it must replace an existing wallet at exactly
 * its sequence + 1, and the current state sent again is a conflict, since it is
 * still encrypted under the old keys.
 */
export type WalletWriteKind = 'upload' | 'reencryption';

export interface WalletServiceDeps {
  db: Database;
  wallets: WalletRepository;
  commit: WalletCommit;
  clock: Clock;
  events: DomainEvents;
  /** Told the result of every wallet write, for the metrics. */
  observeWrite: (result: WalletWriteResult) => void;
  /** MAX_WALLET_BYTES: the largest encryptedWallet accepted, in UTF-8 bytes. */
  maxWalletBytes: number;
}

/** One wallet write: which account, what the client sent, when, why, and by whom. */
export interface WalletWrite {
  accountId: number;
  upload: WalletUpload;
  now: Date;
  kind: WalletWriteKind;
  writer: StateWriter;
}

/**
 * Why it exists: the sequence rule. A wallet write lands only at exactly the
 * stored sequence + 1; anything else is a conflict that hands back the latest
 * state, and re-sending the state that is already current is a success (a safe
 * retry). Every write, an upload or a password change's, goes through write().
 */
export class WalletService {
  constructor(private readonly deps: WalletServiceDeps) {}

  get(accountId: number): Promise<WalletState | null> {
    return this.deps.db.statement((m) => this.deps.wallets.find(m, accountId));
  }

  assertWithinSizeLimit(upload: WalletUpload): void {
    if (Buffer.byteLength(upload.encryptedWallet, 'utf8') > this.deps.maxWalletBytes) throw payloadTooLarge(this.deps.maxWalletBytes);
  }

  async update(session: Pick<AuthSession, 'accountId' | 'deviceId' | 'tokenId'>, upload: WalletUpload, ip?: string): Promise<WalletWriteOutcome> {
    this.assertWithinSizeLimit(upload);
    const { accountId, deviceId, tokenId } = session;
    const { db, wallets, clock, events } = this.deps;
    const now = clock.now();
    // A concurrent password change (it locks the account, then the wallet) may make the database give this write
    // up: Database.transaction runs it again, and the compare-and-set then answers against the winner's state.
    const written = await db.transaction(async (m) => {
      // The token was checked before this transaction: a password change may have revoked it since, and on an account
      // with no wallet nothing else would stop a write under the old keys landing after the change.
      if (!(await wallets.lockForWriter(m, accountId, tokenId))) throw unauthenticated('This token is unknown, expired or revoked: log in again');
      return this.write(m, { accountId, upload, now, kind: 'upload', writer: { deviceId, ip } });
    });
    if (written.result === 'success') events.walletUpdated(accountId, upload.sequence);
    return written;
  }

  /**
   * The wallet write rule, the one way a wallet is written: a compare-and-set at
   * exactly the stored sequence + 1, decided by the database (see
   * WalletRepository.compareAndSet) and, when it lands, recorded in the history
   * (WalletCommit); when it does not land, the latest state decides between a
   * retry of the current state (uploads only) and a conflict that carries it.
   * Runs on `m`, inside the caller's transaction: the write commits or rolls
   * back with the rest. Counts every result for the metric; announcing a stored
   * write is the caller's, after its commit.
   */
  async write(m: EntityManager, { accountId, upload, now, kind, writer }: WalletWrite): Promise<WalletWriteOutcome & { result: WalletWriteResult }> {
    const state = walletState(upload, now);
    // A re-encryption never creates the wallet: sequence 1 would be an insert.
    const landed = kind === 'reencryption' && state.sequence === 1 ? false : await this.deps.commit.commit(m, accountId, state, writer);
    if (!landed) return this.lost(m, accountId, upload, kind);
    this.deps.observeWrite('success');
    return { kind: 'success', wallet: state, result: 'success' };
  }

  /** A write that did not land: a retry when the current state is the one sent (uploads only), else a conflict with it. */
  private async lost(m: EntityManager, accountId: number, upload: WalletUpload, kind: WalletWriteKind): Promise<WalletWriteOutcome & { result: WalletWriteResult }> {
    const latest = await this.deps.wallets.find(m, accountId);
    if (kind === 'upload' && latest && isSameState(latest, upload)) {
      this.deps.observeWrite('retry');
      return { kind: 'success', wallet: latest, result: 'retry' };
    }
    this.deps.observeWrite('conflict');
    return { kind: 'conflict', latest, result: 'conflict' };
  }

  /**
   * A password change that carries no wallet: right only while the account has
   * none (else the client has not seen it). The absence is claimed, not just
   * read, so that a first upload racing the change through another Galera node
   * cannot land beside it (WalletRepository.claimAbsence).
   */
  async expectNone(m: EntityManager, accountId: number): Promise<WalletWriteOutcome> {
    if (await this.deps.wallets.claimAbsence(m, accountId)) return { kind: 'success', wallet: null };
    return { kind: 'conflict', latest: await this.deps.wallets.find(m, accountId) };
  }
}

/** What is stored for an upload: exactly the client's fields, stamped with the time of the write. */
function walletState(upload: WalletUpload, updatedAt: Date): WalletState {
  return { encryptedWallet: upload.encryptedWallet, hmac: upload.hmac, sequence: upload.sequence, updatedAt };
}

function isSameState(stored: WalletState, upload: WalletUpload): boolean {
  return stored.sequence === upload.sequence && stored.encryptedWallet === upload.encryptedWallet && stored.hmac === upload.hmac;
}
