import type { AccountRow } from '../db/entities/account.entity';
import { accountNotVerified, wrongCredentials } from '../errors';
import { normalizeEmail, type ServiceDeps } from './types';

/**
 * The account for these credentials. Any mismatch is the same UNAUTHENTICATED
 * after the same argon2 work, so neither the message nor the timing tells whether
 * the email has an account. Verification is checked only once the password is
 * right, for the same reason.
 */
export async function verifyCredentials(deps: ServiceDeps, email: string, password: string, ip: string): Promise<AccountRow> {
  const { db, accounts, hasher } = deps;
  const emailNormalized = normalizeEmail(email);
  await assertMayTryPassword(deps, emailNormalized, ip);
  const account = await db.run((m) => accounts.findByEmail(m, emailNormalized));
  if (!account) {
    await hasher.verifyAgainstDummy(password);
    return failed(deps, emailNormalized, ip);
  }
  return checkPassword(deps, account, password, ip);
}

/** Refuses early (before any argon2 work) an account or IP that has used up its failed attempts. */
export async function assertMayTryPassword(deps: ServiceDeps, emailNormalized: string, ip: string): Promise<void> {
  await deps.limits.assertNotExhausted('passwordFailuresPerAccount', emailNormalized);
  await deps.limits.assertNotExhausted('loginFailuresPerIp', ip);
}

/** The password check of a known account, with its failures counted against the account and the IP. */
export async function checkPassword(deps: ServiceDeps, account: AccountRow, password: string, ip: string): Promise<AccountRow> {
  if (!(await deps.hasher.verify(account.passwordHash, password))) {
    // In the background: waiting for the write would make a known email's failure slower than an unknown one's.
    deps.activity.recordInBackground(account.id, 'LOGIN_FAILED', { ip });
    return failed(deps, account.emailNormalized, ip);
  }
  await deps.limits.recordPasswordSuccess(account.emailNormalized);
  if (!account.verified) throw accountNotVerified();
  return account;
}

async function failed(deps: ServiceDeps, emailNormalized: string, ip: string): Promise<never> {
  await Promise.all([deps.limits.recordPasswordFailure(emailNormalized), deps.limits.recordFailure('loginFailuresPerIp', ip)]);
  throw wrongCredentials();
}
