/**
 * The key that identifies an account (PROTOCOL.md): Unicode NFC, then lower-cased.
 * Two emails name the same account exactly when these are equal byte for byte,
 * so no database may fold accents, widths or ignorable characters on top of it.
 */
export function normalizeEmail(email: string): string {
  return email.normalize('NFC').toLowerCase();
}
