import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ServiceRequirement } from '../../../tests/helpers/required-services';
import type { WalletDevicePage } from './browser-device.page';

/** Debian's Chromium (`apt-get install -y chromium`): Playwright's own browser downloads are not used. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Like the Redis requirement: skipped with a warning on a developer's machine without Chromium, a failure in CI. */
export function chromiumRequirement(): ServiceRequirement {
  const missing = existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} is missing (apt-get install -y chromium)`;
  return { missing, mustFail: missing !== undefined && process.env.CI === 'true' };
}

/**
 * Headless Chromium with nothing that reaches out on its own (no component
 * updates, no sync, no QUIC), so the only traffic is the test's. Playwright
 * starts it with a fresh --user-data-dir of its own (a temporary directory it
 * deletes on close; it refuses one in `args`), and every context is a new profile.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: 20_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * The page script with the client's portable core, bundled for a browser as a
 * wallet app's bundler would: esbuild fails the build if anything in it needs
 * a Node module.
 */
export async function bundleForBrowser(entry: string): Promise<string> {
  const result = await build({ entryPoints: [entry], bundle: true, write: false, platform: 'browser', format: 'iife', target: 'es2022', logLevel: 'silent' });
  return result.outputFiles[0].text;
}

export interface Front {
  /** The origin the pages are served at, e.g. http://127.0.0.1:41234. */
  url: string;
  close(): Promise<void>;
}

/**
 * A web wallet's origin on loopback: it serves `pages` itself and passes
 * everything else (the API over HTTP, the WebSocket upgrade) to the server, as
 * a reverse proxy in front of both would. The page must come from a real
 * loopback address: Chromium's local network access checks block a WebSocket
 * to 127.0.0.1 from a page Playwright fulfilled itself. Without `serverUrl` it
 * serves only the pages (a web app on an origin of its own, calling the API at
 * another: CORS_ORIGINS) and answers anything else 404.
 */
export async function startFront(serverUrl: string | (() => string) | undefined, pages: Record<string, { contentType: string; body: string }>): Promise<Front> {
  // A function: the server starts after its fronts (its WEBAUTHN_ORIGINS name them).
  const targetOf = () => (serverUrl === undefined ? undefined : new URL(typeof serverUrl === 'function' ? serverUrl() : serverUrl));
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const front = http.createServer((request, response) => {
    const target = targetOf();
    const page = pages[request.url ?? ''];
    if (page) {
      response.writeHead(200, { 'content-type': page.contentType, 'cache-control': 'no-store' });
      response.end(page.body);
      return;
    }
    if (!target) {
      response.writeHead(404).end();
      return;
    }
    const upstream = http.request({ host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  front.on('connection', track);
  front.on('upgrade', (request: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const target = targetOf();
    if (!target) return socket.destroy();
    const upstream = net.connect(Number(target.port), target.hostname, () => {
      const headers = [];
      for (let i = 0; i < request.rawHeaders.length; i += 2) headers.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
      upstream.write(`${request.method} ${request.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
    track(upstream);
    upstream.on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(front.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        front.close(() => resolve());
      }),
  };
}

/**
 * Two device pages of one account, both at sequence 1 holding animal=beaver:
 * `watcher` starts watch(), `writer` sets car=Toyota and syncs, and the watcher
 * pulls it live over the browser's WebSocket.
 */
export async function expectLiveEdit(writer: Page, watcher: Page): Promise<void> {
  await inPage(watcher, 'startWatch');
  const update = inPage(watcher, 'nextSync');
  await inPage(writer, 'set', 'car', 'Toyota');
  await expect(inPage(writer, 'sync')).resolves.toMatchObject({ sequence: 2, pushed: true });
  await expect(update).resolves.toMatchObject({ sequence: 2, pulled: true });
  expect(await inPage(watcher, 'preferences')).toEqual({ animal: 'beaver', car: 'Toyota' });
}

/** Calls one of the page's `walletDevice` functions; a failure in the page rejects with its "CODE: message". */
export function inPage<K extends keyof WalletDevicePage>(page: Page, name: K, ...args: Parameters<WalletDevicePage[K]>): Promise<Awaited<ReturnType<WalletDevicePage[K]>>> {
  return page.evaluate(
    ([method, values]) => (globalThis as unknown as { walletDevice: Record<string, (...a: unknown[]) => unknown> }).walletDevice[method](...values),
    [name, args] as [string, unknown[]],
  ) as Promise<Awaited<ReturnType<WalletDevicePage[K]>>>;
}
