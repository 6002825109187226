import path from 'node:path';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { errorCode } from '../../../test-support/graphql-http';
import { ManualClock } from '../../../tests/helpers/clock';
import { uniqueEmail } from '../../../test-support/operations';
import { LoginWithPasskeyDocument, PasskeySignInOptionsDocument } from '../../../test-support/operations.generated';
import { describeWith } from '../../../tests/helpers/required-services';
import { bundleForBrowser, chromiumRequirement, inPage, launchChromium, startFront, type Front } from '../helpers/browser';
import { ROOT_PASSWORD, TEST_KEY_PARAMS } from '../helpers/devices';

const PAGE = '<!doctype html><meta charset="utf-8"><title>wallet device</title><body style="font: 16px monospace; white-space: pre-wrap"><script src="/device.js"></script>';
const NEW_ROOT_PASSWORD = 'a new root password, long enough';
const FIVE_MINUTES = 5 * 60 * 1000;
/** The screenshots of each step, kept after the run as test artifacts: git-ignored, never committed. */
const ARTIFACTS = path.join(__dirname, '../../../test-artifacts/passkeys-browser');

/** Chromium's virtual authenticator for a platform passkey with PRF (STACK-NOTES.md, Chromium 156). */
const AUTHENTICATOR = { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, hasPrf: true };

/**
 * Passkeys in a real browser (issue 22 item 4): Debian's headless Chromium
 * with the DevTools protocol's virtual authenticator, the client's portable
 * core in the page, and the real server verifying what the browser signed.
 * The relying party is `localhost` (an IP address cannot be one), so the pages
 * come from http://localhost:PORT fronts (a secure context) that pass the API
 * on to the server. Chromium keeps a virtual authenticator per tab, across
 * navigations: one tab is the user's browser, and each device is a page it
 * loads, with its state under a key of its own; a page from the second front
 * is a device whose storage is empty. A second browser context with the
 * credential copied in stands for a passkey synced without its PRF secret
 * (Chromium copies the key, not that secret). The tests run in order: each
 * continues the account of the one before.
 */
describeWith([chromiumRequirement()], 'passkeys in a real browser (headless Chromium, virtual authenticator)', () => {
  const clock = new ManualClock(new Date());
  let server: TestServer;
  let browser: Browser;
  let home: Front;
  let other: Front;
  let tab: Page;
  let authenticator: { cdp: CDPSession; authenticatorId: string };
  const email = uniqueEmail('browser-passkey');
  let passkeyId: string;

  const localhost = (front: Front) => front.url.replace('127.0.0.1', 'localhost');

  beforeAll(async () => {
    let script: string;
    [browser, script] = await Promise.all([launchChromium(), bundleForBrowser(path.join(__dirname, '../helpers/browser-device.page.ts'))]);
    const pages = { '/': { contentType: 'text/html', body: PAGE }, '/device.js': { contentType: 'text/javascript', body: script } };
    [home, other] = await Promise.all([startFront(() => server.url, pages), startFront(() => server.url, pages)]);
    server = await startTestServer({ WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: `${localhost(home)},${localhost(other)}` }, { clock });
    tab = await (await browser.newContext()).newPage();
    authenticator = await addAuthenticator(tab);
  });
  afterAll(async () => {
    await browser?.close();
    await home?.close();
    await other?.close();
    await server?.close();
  });

  /** Loads the device page from `front` in `page` and opens device `deviceId` there. */
  async function device(page: Page, front: Front, deviceId: string): Promise<Page> {
    await page.goto(localhost(front));
    await inPage(page, 'open', deviceId);
    return page;
  }

  async function addAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR as never });
    return { cdp, authenticatorId };
  }

  /** The step written into the page, and its screenshot among the artifacts. */
  async function snap(page: Page, name: string, text: string): Promise<void> {
    await inPage(page, 'show', text);
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
  }

  const signInOptions = async () => (await server.gql(PasskeySignInOptionsDocument, {})).body.data!.passkeySignInOptions;
  const loginWithPasskey = (assertion: string, deviceId: string) => server.gql(LoginWithPasskeyDocument, { input: { assertion, deviceId } });

  it('when a browser wallet adds a passkey, then another device in that browser logs in with the password and the passkey as the second factor', async () => {
    await tab.goto(localhost(home));
    await inPage(tab, 'open', 'laptop', TEST_KEY_PARAMS);
    await inPage(tab, 'register', email, ROOT_PASSWORD);
    await inPage(tab, 'set', 'animal', 'beaver');
    await expect(inPage(tab, 'sync')).resolves.toMatchObject({ sequence: 1, pushed: true });
    const passkey = await inPage(tab, 'addPasskey', 'Laptop', ROOT_PASSWORD);
    // Chromium's PRF answered: the keys are wrapped under the passkey.
    expect(passkey).toMatchObject({ name: 'Laptop', unlock: true });
    passkeyId = passkey.id;
    const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.authenticatorId });
    expect(credentials).toEqual([expect.objectContaining({ rpId: 'localhost', isResidentCredential: true })]);
    await snap(tab, '1-passkey-added', `laptop: registered ${email}, passkey "Laptop" added (unlock: ${passkey.unlock})`);

    await device(tab, home, 'desk');
    expect(await inPage(tab, 'loginWithPasskeyAsSecondFactor', email, ROOT_PASSWORD)).toEqual(['WEBAUTHN']);
    await expect(inPage(tab, 'sync')).resolves.toMatchObject({ sequence: 1, pulled: true });
    expect(await inPage(tab, 'preferences')).toEqual({ animal: 'beaver' });
    await snap(tab, '2-second-factor-login', 'desk: password + passkey (WEBAUTHN) → logged in, animal=beaver');
  });

  it('when a new device holds only the passkey, then it signs in with the passkey alone and decrypts the wallet', async () => {
    // A page from another origin: its storage is empty; the browser's passkey is all it has.
    await tab.goto(localhost(other));
    expect(await inPage(tab, 'storedItems')).toBe(0);
    await inPage(tab, 'open', 'tablet');
    expect(await inPage(tab, 'loginWithPasskey')).toMatchObject({ deviceId: 'tablet', unlocked: true });
    await expect(inPage(tab, 'sync')).resolves.toMatchObject({ sequence: 1, pulled: true });
    expect(await inPage(tab, 'preferences')).toEqual({ animal: 'beaver' });
    await snap(tab, '3-passkey-sign-in-unlocked', 'tablet: passkey alone → signed in and unlocked (PRF), animal=beaver');
  });

  describe('when the assertion is not a fresh answer to a live challenge, then SECOND_FACTOR_INVALID', () => {
    it.each([
      [
        'replayed after it signed in',
        async () => {
          const assertion = await inPage(tab, 'passkeyAssertion', await signInOptions());
          expect((await loginWithPasskey(assertion, 'first')).body.data?.loginWithPasskey.email).toBe(email);
          return assertion;
        },
      ],
      [
        'with a signature that is not the authenticator\'s',
        async () => {
          const assertion = JSON.parse(await inPage(tab, 'passkeyAssertion', await signInOptions()));
          const signature = Buffer.from(assertion.response.signature, 'base64url');
          signature[signature.length - 1] ^= 1;
          return JSON.stringify({ ...assertion, response: { ...assertion.response, signature: signature.toString('base64url') } });
        },
      ],
      [
        'for a challenge older than 5 minutes',
        async () => {
          const options = await signInOptions();
          clock.advance(FIVE_MINUTES + 1000);
          return inPage(tab, 'passkeyAssertion', options);
        },
      ],
    ])('%s', async (_case, assertionOf) => {
      expect(errorCode(await loginWithPasskey(await assertionOf(), 'stranger'))).toBe('SECOND_FACTOR_INVALID');
    });
  });

  it('when the password changes, then the passkey is still a second factor but no longer unlocks, until the keys are wrapped again', async () => {
    await device(tab, home, 'laptop');
    await inPage(tab, 'changePassword', ROOT_PASSWORD, NEW_ROOT_PASSWORD);

    await device(tab, home, 'desk-2');
    expect(await inPage(tab, 'loginWithPasskeyAsSecondFactor', email, NEW_ROOT_PASSWORD)).toEqual(['WEBAUTHN']);
    await device(tab, other, 'tablet-2');
    expect(await inPage(tab, 'loginWithPasskey')).toMatchObject({ unlocked: false, reason: expect.stringContaining('no wrapped keys') });
    await snap(tab, '4-after-password-change', 'tablet-2: the passkey signs in, but the password change dropped its wrapped keys: locked');

    await device(tab, home, 'laptop');
    expect(await inPage(tab, 'enablePasskeyUnlock', passkeyId)).toMatchObject({ id: passkeyId, unlock: true });
  });

  it('when the credential is copied into a fresh browser without its PRF secret, then it signs in, asks for the root password, and says why', async () => {
    const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.authenticatorId });
    const fresh = await browser.newContext();
    const page = await fresh.newPage();
    const copy = await addAuthenticator(page);
    await copy.cdp.send('WebAuthn.addCredential', { authenticatorId: copy.authenticatorId, credential: credentials[0] });

    await device(page, home, 'kiosk');
    const signedIn = await inPage(page, 'loginWithPasskey');
    expect(signedIn).toMatchObject({ deviceId: 'kiosk', unlocked: false, reason: expect.stringContaining('no PRF output') });
    await expect(inPage(page, 'sync')).rejects.toThrow(/NOT_LOGGED_IN/);
    await snap(page, '5-copied-passkey-locked', `kiosk: the copied passkey signs in, locked: ${signedIn.reason}`);
    await expect(inPage(page, 'unlock', ROOT_PASSWORD)).rejects.toThrow(/UNAUTHENTICATED/);
    await inPage(page, 'unlock', NEW_ROOT_PASSWORD);
    await expect(inPage(page, 'sync')).resolves.toMatchObject({ pulled: true });
    expect(await inPage(page, 'preferences')).toEqual({ animal: 'beaver' });
    await snap(page, '6-unlocked-with-root-password', 'kiosk: unlocked with the root password, animal=beaver');
    await fresh.close();
  });
});
