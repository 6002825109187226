/**
 * The wallet state as the services see it, and what a write of it comes to.
 * The database row (db/entities/wallet.entity.ts) adds the account it belongs
 * to; the GraphQL types (graphql/types/wallet-state.type.ts) are the same
 * fields as the public schema names them.
 */

/** A state as a client uploads it: the encrypted wallet, its sequence and the client's hmac over both. */
export interface WalletUpload {
  encryptedWallet: string;
  sequence: number;
  hmac: string;
}

/** A state as the server stores it: the upload, stamped with the time it was accepted. */
export interface WalletState extends WalletUpload {
  updatedAt: Date;
}

/** success: `wallet` is now stored (null: the account has none); conflict: nothing was written, `latest` is what is stored. */
export type WalletWriteOutcome = { kind: 'success'; wallet: WalletState | null } | { kind: 'conflict'; latest: WalletState | null };
