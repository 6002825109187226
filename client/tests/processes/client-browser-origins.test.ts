import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../../../tests/helpers/app';
import { bundleForBrowser, chromiumRequirement, expectLiveEdit, inPage, launchChromium, startFront, type Front } from '../helpers/browser';
import { ROOT_PASSWORD, TEST_KEY_PARAMS } from '../helpers/devices';
import { uniqueEmail } from '../../../test-support/operations';
import { describeWith } from '../../../tests/helpers/required-services';

const PAGE = '<!doctype html><meta charset="utf-8"><title>web wallet</title><script src="/device.js"></script>';

/**
 * A web wallet on an origin of its own (another port), calling the API at the
 * server's origin, in Debian's headless Chromium: the browser enforces CORS
 * and sends the page's Origin on the WebSocket upgrade. The server lists one
 * web app's origin in CORS_ORIGINS; a second web app, unlisted, is refused by
 * the browser over fetch and by the server over the WebSocket.
 */
describeWith([chromiumRequirement()], 'a web wallet on another origin, in a real browser (headless Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let listed: Front;
  let unlisted: Front;

  beforeAll(async () => {
    let script: string;
    [browser, script] = await Promise.all([launchChromium(), bundleForBrowser(path.join(__dirname, '../helpers/browser-device.page.ts'))]);
    const pages = { '/': { contentType: 'text/html', body: PAGE }, '/device.js': { contentType: 'text/javascript', body: script } };
    [listed, unlisted] = await Promise.all([startFront(undefined, pages), startFront(undefined, pages)]);
    server = await startTestServer({ CORS_ORIGINS: listed.url });
  });
  afterAll(async () => {
    await browser?.close();
    await listed?.close();
    await unlisted?.close();
    await server?.close();
  });

  /** A fresh browser context (a device of its own) with the web app's page from `origin`. */
  async function devicePage(origin: Front): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(origin.url);
    return page;
  }

  it('when the web app\'s origin is listed, then two of its devices register, sync, and one gets the other\'s edit live', async () => {
    const email = uniqueEmail('web-app');
    const [laptop, phone] = await Promise.all([devicePage(listed), devicePage(listed)]);
    expect(new URL(server.url).origin).not.toBe(listed.url);

    await inPage(laptop, 'open', 'laptop', TEST_KEY_PARAMS, server.url);
    await inPage(laptop, 'register', email, ROOT_PASSWORD);
    await inPage(laptop, 'set', 'animal', 'beaver');
    await expect(inPage(laptop, 'sync')).resolves.toMatchObject({ sequence: 1, pushed: true });

    await inPage(phone, 'open', 'phone', undefined, server.url);
    await inPage(phone, 'login', email, ROOT_PASSWORD);
    await expect(inPage(phone, 'sync')).resolves.toMatchObject({ sequence: 1, pulled: true });
    await expectLiveEdit(laptop, phone);
  });

  it('when the web app\'s origin is not listed, then its requests fail in the browser and its WebSocket is refused', async () => {
    const page = await devicePage(unlisted);
    await inPage(page, 'open', 'stranger', TEST_KEY_PARAMS, server.url);
    await expect(inPage(page, 'register', uniqueEmail('unlisted'), ROOT_PASSWORD)).rejects.toThrow(/NETWORK_ERROR/);
    expect(await inPage(page, 'openSocket', server.url)).toMatch(/^closed before opening/);
    // The same probe from the listed origin opens: the refusal is the origin's, not the probe's.
    expect(await inPage(await devicePage(listed), 'openSocket', server.url)).toBe('open');
  });
});
