import { isDeadlock, type Database } from '../db/database';
import type { WalletRepository } from '../db/repositories/wallet.repository';
import type { DomainEvents } from '../events/domain-events';
import { payloadTooLarge } from '../errors';
import type { Clock } from '../lib/clock';
import type { AuthSession } from './session';
import type { WalletCommit } from './wallet-commit';
import type { WalletState, WalletUpload, WalletWriteOutcome } from './wallet-state';

/** The result of one wallet write, as the wallet-write metric counts it. */
export type WalletWriteResult = 'success' | 'retry' | 'conflict';

/**
 * Why it exists: the sequence rule. An upload lands only at exactly the stored
 * sequence + 1; anything else is a conflict that hands back the latest state, and
 * re-sending the state that is already current is a success (a safe retry).
 */
export class WalletService {
  constructor(
    private readonly db: Database,
    private readonly wallets: WalletRepository,
    private readonly commit: WalletCommit,
    private readonly clock: Clock,
    private readonly events: DomainEvents,
    /** Told the result of every wallet write, for the metrics. */
    private readonly observeWrite: (result: WalletWriteResult) => void,
    /** MAX_WALLET_BYTES: the largest encryptedWallet accepted, in UTF-8 bytes. */
    private readonly maxWalletBytes: number,
  ) {}

  get(accountId: number): Promise<WalletState | null> {
    return this.db.run((m) => this.wallets.find(m, accountId));
  }

  assertWithinSizeLimit(upload: WalletUpload): void {
    if (Buffer.byteLength(upload.encryptedWallet, 'utf8') > this.maxWalletBytes) throw payloadTooLarge(this.maxWalletBytes);
  }

  async update(session: Pick<AuthSession, 'accountId' | 'deviceId'>, upload: WalletUpload, ip?: string): Promise<WalletWriteOutcome> {
    this.assertWithinSizeLimit(upload);
    const { accountId, deviceId } = session;
    const write = walletWrite(upload, this.clock.now());
    const landed = await this.db
      .transaction((m) => this.commit.commit(m, accountId, write, { deviceId, ip }))
      // MySQL may pick this write as a deadlock's victim (a concurrent password change locks the
      // account, then the wallet): it was rolled back whole, so it is answered as the conflict it lost.
      .catch((error: unknown) => {
        if (isDeadlock(error)) return false;
        throw error;
      });
    if (landed) {
      this.events.walletUpdated(accountId, write.sequence);
      this.observeWrite('success');
      return { kind: 'success', wallet: write };
    }
    const latest = await this.get(accountId);
    if (latest && isSameState(latest, upload)) {
      this.observeWrite('retry');
      return { kind: 'success', wallet: latest };
    }
    this.observeWrite('conflict');
    return { kind: 'conflict', latest };
  }
}

/** What is stored for an upload: exactly the client's fields, stamped with the time of the write. */
export function walletWrite(upload: WalletUpload, updatedAt: Date): WalletState {
  return { encryptedWallet: upload.encryptedWallet, hmac: upload.hmac, sequence: upload.sequence, updatedAt };
}

export function isSameState(stored: WalletState, upload: WalletUpload): boolean {
  return stored.sequence === upload.sequence && stored.encryptedWallet === upload.encryptedWallet && stored.hmac === upload.hmac;
}
