import { EntitySchema } from 'typeorm';
import type { ColumnTypes } from '../dialects/dialect';

/**
 * A passkey (WebAuthn credential) of an account: its public key and the last
 * sign counter its authenticator reported (a counter that does not advance
 * marks a cloned authenticator), and optionally the PRF-wrapped keys that let
 * it unlock the wallet. The credential is found by a hash of its id: ids run
 * up to 1023 bytes, too long for a unique index on every database.
 */
export interface PasskeyRow {
  id: number;
  accountId: number;
  /** sha256 hex of the credential id (base64url), unique: one credential belongs to one account. */
  credentialHash: string;
  /** base64url, as the browser names it in allowCredentials. */
  credentialId: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  signCount: number;
  /** Comma-separated AuthenticatorTransport values the browser reported, or null. */
  transports: string | null;
  name: string;
  /** base64 of iv ‖ AES-256-GCM(wrapKey, hmacKey ‖ walletKey) (PROTOCOL.md), opaque to the server; null when it only signs. */
  wrappedKeys: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export function passkeyEntity(columns: ColumnTypes): EntitySchema<PasskeyRow> {
  return new EntitySchema<PasskeyRow>({
    name: 'Passkey',
    tableName: 'passkeys',
    columns: {
      id: { name: 'id', type: 'integer', primary: true, generated: 'increment' },
      accountId: { name: 'account_id', type: 'integer' },
      credentialHash: { name: 'credential_hash', type: 'varchar', length: 64, ...columns.exact },
      credentialId: { name: 'credential_id', type: 'varchar', length: 1400, ...columns.exact },
      publicKey: { name: 'public_key', type: 'text' },
      signCount: { name: 'sign_count', type: 'bigint' },
      transports: { name: 'transports', type: 'varchar', length: 255, ...columns.nullable },
      name: { name: 'name', type: 'varchar', length: 64 },
      wrappedKeys: { name: 'wrapped_keys', type: 'varchar', length: 124, ...columns.nullable },
      createdAt: { name: 'created_at', ...columns.dateTime },
      lastUsedAt: { name: 'last_used_at', ...columns.dateTime, ...columns.nullable },
    },
    indices: [
      { name: 'uq_passkeys_credential_hash', columns: ['credentialHash'], unique: true },
      { name: 'ix_passkeys_account', columns: ['accountId'] },
    ],
    foreignKeys: [{ name: 'fk_passkeys_account', columnNames: ['account_id'], target: 'Account', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
  });
}

/** What a WebAuthn challenge was issued for; the ceremony that answers it must be the same. */
export const CHALLENGE_PURPOSES = ['REGISTRATION', 'SECOND_FACTOR', 'SIGN_IN'] as const;
export type ChallengePurpose = (typeof CHALLENGE_PURPOSES)[number];

/**
 * A WebAuthn challenge handed out and not yet answered. In the database, not in
 * memory, so that the instance answering the second half of a ceremony finds
 * it; spent by one conditional DELETE, so of two answers exactly one counts.
 * Not in Redis even when it is configured: the server serves on while Redis is
 * down (per-instance fallbacks), and a challenge must be shared to be single-use;
 * the database is the one store every request already needs.
 */
export interface WebauthnChallengeRow {
  /** base64url of 32 random bytes, as in the options the browser got. */
  challenge: string;
  purpose: ChallengePurpose;
  /** The account it belongs to; null for a passkey sign-in (the credential picks the account). */
  accountId: number | null;
  expiresAt: Date;
}

export function webauthnChallengeEntity(columns: ColumnTypes): EntitySchema<WebauthnChallengeRow> {
  return new EntitySchema<WebauthnChallengeRow>({
    name: 'WebauthnChallenge',
    tableName: 'webauthn_challenges',
    columns: {
      challenge: { name: 'challenge', type: 'varchar', length: 64, primary: true, ...columns.exact },
      purpose: { name: 'purpose', type: 'varchar', length: 16 },
      accountId: { name: 'account_id', type: 'integer', ...columns.nullable },
      expiresAt: { name: 'expires_at', ...columns.dateTime },
    },
    indices: [{ name: 'ix_webauthn_challenges_expires_at', columns: ['expiresAt'] }],
    foreignKeys: [
      { name: 'fk_webauthn_challenges_account', columnNames: ['account_id'], target: 'Account', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
    ],
  });
}
