import type { AccountRow } from '../db/entities/account.entity';
import { accountNotVerified, wrongCredentials } from '../errors';
import { normalizeEmail, type ServiceDeps } from './types';

/**
 * The account for these credentials. Any mismatch is the same UNAUTHENTICATED
 * after the same argon2 work, so neither the message nor the timing tells whether
 * the email has an account. Verification is checked only once the password is
 * right, for the same reason.
 */
export async function verifyCredentials(deps: ServiceDeps, email: string, password: string): Promise<AccountRow> {
  const { db, accounts, hasher } = deps;
  const account = await db.run((m) => accounts.findByEmail(m, normalizeEmail(email)));
  if (!account) {
    await hasher.verifyAgainstDummy(password);
    throw wrongCredentials();
  }
  if (!(await hasher.verify(account.passwordHash, password))) throw wrongCredentials();
  if (!account.verified) throw accountNotVerified();
  return account;
}
