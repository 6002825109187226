import { payloadTooLarge } from '../errors';
import { isDeadlock } from '../db/database';
import type { AuthSession, ServiceDeps, WalletStateData, WalletWriteOutcome } from './types';
import { commitWalletState } from './wallet-commit';

export interface WalletStateInputData {
  encryptedWallet: string;
  sequence: number;
  hmac: string;
}

/**
 * Why it exists: the sequence rule. An upload lands only at exactly the stored
 * sequence + 1; anything else is a conflict that hands back the latest state, and
 * re-sending the state that is already current is a success (a safe retry).
 */
export class WalletService {
  constructor(private readonly deps: ServiceDeps) {}

  get(accountId: number): Promise<WalletStateData | null> {
    return this.deps.db.run((m) => this.deps.wallets.find(m, accountId));
  }

  assertWithinSizeLimit(input: WalletStateInputData): void {
    const limit = this.deps.config.maxWalletBytes;
    if (Buffer.byteLength(input.encryptedWallet, 'utf8') > limit) throw payloadTooLarge(limit);
  }

  async update(session: Pick<AuthSession, 'accountId' | 'deviceId'>, input: WalletStateInputData, ip?: string): Promise<WalletWriteOutcome> {
    this.assertWithinSizeLimit(input);
    const { db, clock } = this.deps;
    const { accountId, deviceId } = session;
    const write = walletWrite(input, clock.now());
    const landed = await db
      .transaction((m) => commitWalletState(this.deps, m, accountId, write, { deviceId, ip }))
      // MySQL may pick this write as a deadlock's victim (a concurrent password change locks the
      // account, then the wallet): it was rolled back whole, so it is answered as the conflict it lost.
      .catch((error: unknown) => {
        if (isDeadlock(error)) return false;
        throw error;
      });
    if (landed) {
      this.deps.events.walletUpdated(accountId, write.sequence);
      this.deps.observeWalletWrite('success');
      return { kind: 'success', wallet: write };
    }
    const latest = await this.get(accountId);
    if (latest && isSameState(latest, input)) {
      this.deps.observeWalletWrite('retry');
      return { kind: 'success', wallet: latest };
    }
    this.deps.observeWalletWrite('conflict');
    return { kind: 'conflict', latest };
  }
}

/** What is stored for an upload: exactly the client's fields, stamped with the time of the write. */
export function walletWrite(input: WalletStateInputData, updatedAt: Date): WalletStateData {
  return { encryptedWallet: input.encryptedWallet, hmac: input.hmac, sequence: input.sequence, updatedAt };
}

export function isSameState(stored: WalletStateData, input: WalletStateInputData): boolean {
  return stored.sequence === input.sequence && stored.encryptedWallet === input.encryptedWallet && stored.hmac === input.hmac;
}
