import { SecondFactorRequiredError, WalletSyncError, nodeScrypt, type ScryptFunction, type SecondFactorMethod } from 'wallet-sync-client';
import { totpCode } from '../../../src/lib/totp';
import { ROOT_PASSWORD, openDevice } from '../helpers/devices';
import { useTestServer } from '../../../tests/helpers/hooks';
import { uniqueEmail } from '../../../test-support/operations';

/** Node's scrypt, counting derivations: a retried login must not derive again. */
function countingScrypt(): { scrypt: ScryptFunction; count: () => number } {
  let calls = 0;
  return { count: () => calls, scrypt: (password, salt, params, length) => ((calls += 1), nodeScrypt(password, salt, params, length)) };
}

const NEW_ROOT_PASSWORD = 'a brand new root password';

/** The code of the step after the current one: one step of drift is accepted, and it is never the step a previous code used. */
const nextCode = (secret: string, steps = 1) => totpCode(secret, new Date(Date.now() + steps * 30_000));

/** The client library and TOTP, against the real server (PROTOCOL.md "Second factor"). */
describe('the client and the second factor', () => {
  const server = useTestServer();

  async function enrolled() {
    const email = uniqueEmail('totp');
    const phone = await openDevice(server, 'phone');
    await phone.register(email, ROOT_PASSWORD);
    await phone.login();
    expect(await phone.secondFactorStatus()).toEqual({ enabled: false, totp: false, recoveryCodesLeft: 0 });
    const { secret, uri } = await phone.enableTotp(ROOT_PASSWORD);
    expect(uri).toContain(`secret=${secret}`);
    const codes = await phone.confirmTotp(totpCode(secret, new Date()));
    expect(codes).toHaveLength(10);
    expect(await phone.secondFactorStatus()).toEqual({ enabled: true, totp: true, recoveryCodesLeft: 10 });
    return { email, phone, secret, codes };
  }

  it('when login meets SECOND_FACTOR_REQUIRED without a callback, then it throws a typed error whose retry logs in without deriving again', async () => {
    const { email, phone, secret } = await enrolled();
    await phone.setPreference('theme', 'dark');
    await phone.sync();
    const counted = countingScrypt();
    const laptop = await openDevice(server, 'laptop', { scrypt: counted.scrypt });
    const error = await laptop.login({ email, rootPassword: ROOT_PASSWORD }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecondFactorRequiredError);
    expect((error as SecondFactorRequiredError).code).toBe('SECOND_FACTOR_REQUIRED');
    expect((error as SecondFactorRequiredError).methods).toEqual(['TOTP', 'RECOVERY_CODE']);
    expect(laptop.status().loggedIn).toBe(false);
    const wrong = await (error as SecondFactorRequiredError).retry({ totp: nextCode(secret, 3) }).catch((e: unknown) => e);
    expect((wrong as WalletSyncError).code).toBe('SECOND_FACTOR_INVALID');
    await (error as SecondFactorRequiredError).retry({ totp: nextCode(secret) });
    expect(counted.count()).toBe(1);
    await laptop.sync();
    expect(laptop.preferences()).toEqual({ theme: 'dark' });
  });

  it('when login has a callback, then it is asked with the methods only when the server requires a factor, and a recovery code works once', async () => {
    const { email, codes } = await enrolled();
    const counted = countingScrypt();
    const asked: SecondFactorMethod[][] = [];
    const tablet = await openDevice(server, 'tablet', { scrypt: counted.scrypt });
    await tablet.login({ email, rootPassword: ROOT_PASSWORD }, { secondFactor: async (methods) => (asked.push(methods), { recoveryCode: codes[0].toLowerCase() }) });
    expect(asked).toEqual([['TOTP', 'RECOVERY_CODE']]);
    expect(counted.count()).toBe(1);
    expect(tablet.status().loggedIn).toBe(true);
    const again = await openDevice(server, 'again');
    const reused = await again.login({ email, rootPassword: ROOT_PASSWORD }, { secondFactor: { recoveryCode: codes[0] } }).catch((e: unknown) => e);
    expect((reused as WalletSyncError).code).toBe('SECOND_FACTOR_INVALID');
    expect(await tablet.secondFactorStatus()).toEqual({ enabled: true, totp: true, recoveryCodesLeft: 9 });
  });

  it('when recovery codes are regenerated and TOTP disabled, then the root password is asked for, and a wrong one costs nothing on the server', async () => {
    const { email, phone, codes } = await enrolled();
    await expect(phone.regenerateRecoveryCodes('not the root password')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const fresh = await phone.regenerateRecoveryCodes(ROOT_PASSWORD);
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(codes[0]);
    expect(await phone.disableTotp(ROOT_PASSWORD)).toBe(true);
    expect(await phone.secondFactorStatus()).toEqual({ enabled: false, totp: false, recoveryCodesLeft: 0 });
    const laptop = await openDevice(server, 'laptop');
    await laptop.login({ email, rootPassword: ROOT_PASSWORD });
    expect(laptop.status().loggedIn).toBe(true);
  });

  it('when an account with TOTP is deleted, then the factor is needed: without it SECOND_FACTOR_REQUIRED and nothing is deleted', async () => {
    const { phone, codes } = await enrolled();
    await expect(phone.deleteAccount(ROOT_PASSWORD)).rejects.toMatchObject({ code: 'SECOND_FACTOR_REQUIRED', methods: ['TOTP', 'RECOVERY_CODE'] });
    expect(phone.status().loggedIn).toBe(true);
    await phone.deleteAccount(ROOT_PASSWORD, { secondFactor: { recoveryCode: codes[3] } });
    expect(phone.status().loggedIn).toBe(false);
  });

  it('when an account with a second factor changes its password with a callback, then it answers both the change and the login that ends it', async () => {
    const { email, phone, codes } = await enrolled();
    await phone.setPreference('theme', 'dark');
    await phone.sync();
    const asked: SecondFactorMethod[][] = [];
    let next = 0;
    await phone.changePassword(ROOT_PASSWORD, NEW_ROOT_PASSWORD, { secondFactor: async (methods) => (asked.push(methods), { recoveryCode: codes[next++] }) });
    expect(asked).toEqual([
      ['TOTP', 'RECOVERY_CODE'],
      ['TOTP', 'RECOVERY_CODE'],
    ]);
    expect(phone.status().loggedIn).toBe(true);
    const laptop = await openDevice(server, 'laptop');
    await laptop.login({ email, rootPassword: NEW_ROOT_PASSWORD }, { secondFactor: async () => ({ recoveryCode: codes[next++] }) });
    await laptop.sync();
    expect(laptop.preferences()).toEqual({ theme: 'dark' });
  });

  it('when the factor is given as a value, then it answers the change, and the login after it throws a SecondFactorRequiredError whose retry finishes', async () => {
    const { email, phone, codes } = await enrolled();
    const error = await phone.changePassword(ROOT_PASSWORD, NEW_ROOT_PASSWORD, { secondFactor: { recoveryCode: codes[0] } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecondFactorRequiredError);
    expect(phone.status().loggedIn).toBe(false);
    await (error as SecondFactorRequiredError).retry({ recoveryCode: codes[1] });
    expect(phone.status().loggedIn).toBe(true);
    const laptop = await openDevice(server, 'laptop');
    await expect(laptop.login({ email, rootPassword: ROOT_PASSWORD }, { secondFactor: { recoveryCode: codes[2] } })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
