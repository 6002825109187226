/** Who is calling: resolved from the bearer token. */
export interface AuthSession {
  tokenId: number;
  accountId: number;
  deviceId: string;
  /** When the token stops working; a live connection is closed then. */
  expiresAt: Date;
}
