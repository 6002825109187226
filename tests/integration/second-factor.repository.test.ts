import { SecondFactorRepository } from '../../src/db/repositories/second-factor.repository';
import { insertAccount, testDialect } from '../../test-support/database';
import { useTestDatabase } from '../helpers/hooks';

/**
 * The statements the second factor's rules rest on, on the real database of
 * this pass: a TOTP step, a recovery code and an enrolment are each spent by
 * one conditional write, so of concurrent uses exactly one wins.
 */
describe(`SecondFactorRepository on ${testDialect()}`, () => {
  const database = useTestDatabase();
  const repo = new SecondFactorRepository();
  const now = new Date('2026-01-01T00:00:00.000Z');
  const later = new Date('2026-01-01T00:10:00.000Z');
  const run = <T>(work: Parameters<typeof database.db.run<T>>[0]) => database.db.run(work);

  async function enabled(step = 100): Promise<number> {
    const { id } = await insertAccount(database.db);
    await run((m) => repo.beginEnrolment(m, id, 'sealed-1', later));
    expect(await run((m) => repo.confirmEnrolment(m, id, 'sealed-1', step, now))).toBe(true);
    return id;
  }

  it('when an enrolment is confirmed, then the pending secret becomes the enabled one with its step used', async () => {
    const id = await enabled(100);
    expect(await run((m) => repo.findTotp(m, id))).toEqual({
      accountId: id,
      secret: 'sealed-1',
      enabledAt: now,
      lastUsedStep: 100,
      pendingSecret: null,
      pendingExpiresAt: null,
    });
  });

  it.each([
    ['it expired', 'sealed-1', later],
    ['another beginTotp replaced it', 'sealed-old', now],
  ])('when the enrolment is confirmed after %s, then nothing changes', async (_name, sealed, at) => {
    const { id } = await insertAccount(database.db);
    await run((m) => repo.beginEnrolment(m, id, 'sealed-old', later));
    await run((m) => repo.beginEnrolment(m, id, 'sealed-1', later));
    const pending = sealed === 'sealed-old' ? 'sealed-old' : 'sealed-1';
    expect(await run((m) => repo.confirmEnrolment(m, id, pending, 1, at))).toBe(false);
    expect(await run((m) => repo.findTotp(m, id))).toMatchObject({ secret: null, pendingSecret: 'sealed-1' });
  });

  it('when a new enrolment begins while TOTP is enabled, then the enabled secret stays until the new one is confirmed', async () => {
    const id = await enabled();
    await run((m) => repo.beginEnrolment(m, id, 'sealed-2', later));
    expect(await run((m) => repo.findTotp(m, id))).toMatchObject({ secret: 'sealed-1', pendingSecret: 'sealed-2' });
  });

  it.each([
    ['the same step', 100, false],
    ['an earlier step', 99, false],
    ['the next step', 101, true],
  ])('when %s is used after step 100, then it is %s', async (_name, step, accepted) => {
    const id = await enabled(100);
    expect(await run((m) => repo.useTotpStep(m, id, step))).toBe(accepted);
  });

  it('when many logins spend the same step at once, then exactly one wins', async () => {
    const id = await enabled(100);
    const won = await Promise.all(Array.from({ length: 10 }, () => run((m) => repo.useTotpStep(m, id, 101))));
    expect(won.filter(Boolean)).toHaveLength(1);
  });

  it('when TOTP is disabled, then no step can be used and disabling again answers false', async () => {
    const id = await enabled();
    expect(await run((m) => repo.disableTotp(m, id))).toBe(true);
    expect(await run((m) => repo.useTotpStep(m, id, 500))).toBe(false);
    expect(await run((m) => repo.disableTotp(m, id))).toBe(false);
  });

  it('when recovery codes are replaced and used, then each works once, at once or not, and only the new set counts', async () => {
    const { id } = await insertAccount(database.db);
    await run((m) => repo.replaceRecoveryCodes(m, id, ['h1', 'h2', 'h3'], now));
    await run((m) => repo.replaceRecoveryCodes(m, id, ['h4', 'h5'], now));
    expect(await run((m) => repo.countRecoveryCodes(m, id))).toBe(2);
    expect(await run((m) => repo.useRecoveryCode(m, id, 'h1'))).toBe(false);
    const won = await Promise.all(Array.from({ length: 8 }, () => run((m) => repo.useRecoveryCode(m, id, 'h4'))));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await run((m) => repo.countRecoveryCodes(m, id))).toBe(1);
    expect(await run((m) => repo.deleteRecoveryCodes(m, id))).toBe(1);
  });
});
