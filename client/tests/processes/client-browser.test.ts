import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { bundleForBrowser, chromiumRequirement, expectLiveEdit, inPage, launchChromium, startFront, type Front } from '../helpers/browser';
import { ROOT_PASSWORD, TEST_KEY_PARAMS } from '../helpers/devices';
import { uniqueEmail } from '../../../test-support/operations';
import { ClientKeyParamsDocument } from '../../../test-support/operations.generated';
import { describeWith } from '../../../tests/helpers/required-services';

const PAGE = '<!doctype html><meta charset="utf-8"><title>wallet device</title><script src="/device.js"></script>';

/**
 * The client's portable core in a real browser (Debian's headless Chromium,
 * driven by Playwright) against the real server: two devices, each a page in
 * its own browser context (its own localStorage), register, log in, sync, and
 * one gets the other's edit live over the browser's WebSocket. The pages come
 * from the API's origin, through a loopback front that serves them and passes
 * the rest to the server (client/tests/helpers/browser.ts startFront).
 */
describeWith([chromiumRequirement()], 'the client in a real browser (headless Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let front: Front;

  beforeAll(async () => {
    let script: string;
    [server, browser, script] = await Promise.all([
      startTestServer(),
      launchChromium(),
      bundleForBrowser(path.join(__dirname, '../helpers/browser-device.page.ts')),
    ]);
    front = await startFront(server.url, {
      '/': { contentType: 'text/html', body: PAGE },
      '/device.js': { contentType: 'text/javascript', body: script },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await front?.close();
    await server?.close();
  });

  /** A fresh browser context (nothing stored: a device of its own) with the device page loaded. */
  async function devicePage(): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(front.url);
    return page;
  }

  it('when two browser devices register, log in and sync, then the second gets the first\'s edit live over the WebSocket', async () => {
    const email = uniqueEmail('browser');
    const [laptop, phone] = await Promise.all([devicePage(), devicePage()]);
    expect(await inPage(laptop, 'environment')).toEqual({ userAgent: expect.stringContaining('HeadlessChrome/'), webCrypto: true, nodeGlobals: [] });

    await inPage(laptop, 'open', 'laptop', TEST_KEY_PARAMS);
    await inPage(laptop, 'register', email, ROOT_PASSWORD);
    await inPage(laptop, 'set', 'animal', 'beaver');
    await expect(inPage(laptop, 'sync')).resolves.toMatchObject({ sequence: 1, pushed: true });
    expect((await server.gql(ClientKeyParamsDocument, { email })).body.data!.clientKeyParams).toMatchObject(TEST_KEY_PARAMS);

    // Opened without key parameters (the default N=2^17), it derives with the account's.
    await inPage(phone, 'open', 'phone');
    await inPage(phone, 'login', email, ROOT_PASSWORD);
    await expect(inPage(phone, 'sync')).resolves.toMatchObject({ sequence: 1, pulled: true, pushed: false });
    expect(await inPage(phone, 'preferences')).toEqual({ animal: 'beaver' });

    await expectLiveEdit(laptop, phone);

    // The device state lives in the page's localStorage: keys and token, no password.
    const stored = JSON.parse((await inPage(phone, 'storedState'))!);
    expect(stored).toMatchObject({ deviceId: 'phone', account: { keyParams: TEST_KEY_PARAMS }, base: { sequence: 2 } });
    expect(Object.keys(stored.keys)).toEqual(['hmacKey', 'walletKey']);
  });
});
