import { SecondFactorRequiredError, WalletSyncError } from 'wallet-sync-client';
import { ROOT_PASSWORD, openDevice } from '../helpers/devices';
import { softwareCredentials } from '../helpers/software-credentials';
import { useTestServer } from '../../../tests/helpers/hooks';
import { uniqueEmail } from '../../../test-support/operations';
import { PASSKEY_ENV, PASSKEY_ORIGIN } from '../../../tests/helpers/second-factor';
import { SoftwareAuthenticator } from '../../../tests/helpers/webauthn-authenticator';

/**
 * The client library and passkeys against the real server (PROTOCOL.md
 * "Passkey sign-in that unlocks the wallet"), navigator.credentials played by
 * a software authenticator with a PRF extension: a new device that holds only
 * the passkey signs in and decrypts; without PRF it signs in and asks for the
 * root password, saying why.
 */
describe('the client and passkeys', () => {
  const server = useTestServer(PASSKEY_ENV);

  /** An account with a synced preference on `phone`, and a passkey added from it. */
  async function withPasskey(prf: 'create' | 'get' | 'none') {
    const authenticator = new SoftwareAuthenticator(PASSKEY_ORIGIN, false);
    const credentials = softwareCredentials(authenticator, prf);
    const phone = await openDevice(server, 'phone', { credentials });
    await phone.register(uniqueEmail('passkey'), ROOT_PASSWORD);
    await phone.login();
    await phone.setPreference('theme', 'dark');
    await phone.sync();
    const passkey = await phone.addPasskey('Phone', ROOT_PASSWORD);
    return { phone, credentials, passkey };
  }

  it.each([
    ['at create()', 'create' as const],
    ['only at get()', 'get' as const],
  ])('when the authenticator gives PRF %s, then a new device with only the passkey signs in and decrypts the wallet', async (_when, prf) => {
    const { phone, credentials, passkey } = await withPasskey(prf);
    expect(passkey).toMatchObject({ name: 'Phone', unlock: true });
    expect(await phone.passkeys()).toEqual([passkey]);
    const tablet = await openDevice(server, 'tablet', { credentials });
    expect(await tablet.loginWithPasskey()).toMatchObject({ deviceId: 'tablet', unlocked: true });
    expect(tablet.email).toBe(phone.email);
    await tablet.sync();
    expect(tablet.preferences()).toEqual({ theme: 'dark' });
  });

  it('when the authenticator gives no PRF, then the passkey signs in but the device asks for the root password, says why, and refuses a wrong one', async () => {
    const { phone, credentials, passkey } = await withPasskey('none');
    expect(passkey.unlock).toBe(false);
    await expect(phone.enablePasskeyUnlock(passkey.id)).rejects.toMatchObject({ code: 'PASSKEY_UNLOCK_FAILED' });
    const tablet = await openDevice(server, 'tablet', { credentials });
    const signedIn = await tablet.loginWithPasskey();
    expect(signedIn).toMatchObject({ unlocked: false, reason: expect.stringContaining('no wrapped keys') });
    await expect(tablet.sync()).rejects.toBeInstanceOf(WalletSyncError);
    await expect(tablet.unlock('not the root password')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await tablet.unlock(ROOT_PASSWORD);
    await tablet.sync();
    expect(tablet.preferences()).toEqual({ theme: 'dark' });
  });

  it('when there is no WebAuthn on the platform, then the passkey methods say so', async () => {
    const device = await openDevice(server, 'desk');
    await expect(device.loginWithPasskey()).rejects.toMatchObject({ code: 'PASSKEY_UNAVAILABLE' });
  });
});

describe('the client and a passkey as the second factor', () => {
  const server = useTestServer(PASSKEY_ENV);

  it('when a password login meets SECOND_FACTOR_REQUIRED with WEBAUTHN, then the passkey answers it, by callback or by retry', async () => {
    const credentials = softwareCredentials(new SoftwareAuthenticator(PASSKEY_ORIGIN), 'none');
    const email = uniqueEmail('passkey-2fa');
    const phone = await openDevice(server, 'phone', { credentials });
    await phone.register(email, ROOT_PASSWORD);
    await phone.login();
    await phone.addPasskey('Key', ROOT_PASSWORD);

    const laptop = await openDevice(server, 'laptop', { credentials });
    const asked: unknown[] = [];
    await laptop.login({ email, rootPassword: ROOT_PASSWORD }, { secondFactor: async (methods, webauthn) => (asked.push(methods), laptop.passkeySecondFactor(webauthn!)) });
    expect(asked).toEqual([['WEBAUTHN']]);
    expect(laptop.status().loggedIn).toBe(true);

    const desk = await openDevice(server, 'desk', { credentials });
    const error = await desk.login({ email, rootPassword: ROOT_PASSWORD }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecondFactorRequiredError);
    const required = error as SecondFactorRequiredError;
    expect(JSON.parse(required.webauthn!).allowCredentials).toHaveLength(1);
    await required.retry(await desk.passkeySecondFactor(required.webauthn!));
    expect(desk.status().loggedIn).toBe(true);
  });

  it('when deleteAccount meets SECOND_FACTOR_REQUIRED with WEBAUTHN, then the callback gets the request options and the passkey answers them', async () => {
    const credentials = softwareCredentials(new SoftwareAuthenticator(PASSKEY_ORIGIN), 'none');
    const email = uniqueEmail('passkey-delete');
    const phone = await openDevice(server, 'phone', { credentials });
    await phone.register(email, ROOT_PASSWORD);
    await phone.login();
    await phone.addPasskey('Key', ROOT_PASSWORD);

    const asked: unknown[] = [];
    await phone.deleteAccount(ROOT_PASSWORD, {
      secondFactor: async (methods, webauthn) => (asked.push(methods, JSON.parse(webauthn!).allowCredentials.length), phone.passkeySecondFactor(webauthn!)),
    });
    expect(asked).toEqual([['WEBAUTHN'], 1]);
    const again = await openDevice(server, 'laptop', { credentials });
    await expect(again.login({ email, rootPassword: ROOT_PASSWORD })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
