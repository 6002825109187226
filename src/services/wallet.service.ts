import { payloadTooLarge } from '../errors';
import type { ServiceDeps, WalletStateData, WalletWriteOutcome } from './types';

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
    return this.deps.db.statement((m) => this.deps.wallets.find(m, accountId));
  }

  assertWithinSizeLimit(input: WalletStateInputData): void {
    const limit = this.deps.config.maxWalletBytes;
    if (Buffer.byteLength(input.encryptedWallet, 'utf8') > limit) throw payloadTooLarge(limit);
  }

  async update(accountId: number, input: WalletStateInputData): Promise<WalletWriteOutcome> {
    this.assertWithinSizeLimit(input);
    const { db, wallets, clock } = this.deps;
    const write = walletWrite(input, clock.now());
    if (await db.statement((m) => wallets.compareAndSet(m, accountId, write))) {
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
