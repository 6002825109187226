import type { Config } from '../config';
import type { Database } from '../db/database';
import type { AccountRepository } from '../db/repositories/account.repository';
import type { AuthTokenRepository } from '../db/repositories/auth-token.repository';
import type { VerificationTokenRepository } from '../db/repositories/verification-token.repository';
import type { WalletRepository } from '../db/repositories/wallet.repository';
import type { Clock } from '../lib/clock';
import type { Mailer } from '../lib/mailer';
import type { RateLimits } from '../lib/rate-limits';
import type { PasswordHasher } from '../lib/password';

/** What the services share: passed in, so tests can swap the clock or the database. */
export interface ServiceDeps {
  config: Readonly<Config>;
  db: Database;
  clock: Clock;
  hasher: PasswordHasher;
  accounts: AccountRepository;
  tokens: AuthTokenRepository;
  wallets: WalletRepository;
  verificationTokens: VerificationTokenRepository;
  mailer: Mailer;
  limits: RateLimits;
  events: DomainEvents;
  /** Told the result of every wallet upload, for metrics. */
  observeWalletWrite(result: 'success' | 'retry' | 'conflict'): void;
  /** Where failures that nobody awaits (background mail) are reported. */
  reportError(error: unknown, what: string): void;
}

/** What the services announce after a commit, e.g. to live subscriptions on every instance. */
export interface DomainEvents {
  walletUpdated(accountId: number, sequence: number): void;
  /** Tokens stopped working: the one of `deviceId`, or every token of the account when it is undefined. */
  tokensRevoked(accountId: number, deviceId?: string): void;
}

export const noDomainEvents: DomainEvents = { walletUpdated: () => {}, tokensRevoked: () => {} };

/** Who is calling: resolved from the bearer token. */
export interface AuthSession {
  tokenId: number;
  accountId: number;
  deviceId: string;
  /** When the token stops working; a live connection is closed then. */
  expiresAt: Date;
}

export interface WalletStateData {
  encryptedWallet: string;
  sequence: number;
  hmac: string;
  updatedAt: Date;
}

export type WalletWriteOutcome = { kind: 'success'; wallet: WalletStateData | null } | { kind: 'conflict'; latest: WalletStateData | null };

export { normalizeEmail } from '../lib/email';
