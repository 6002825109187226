import { KeyValueDeviceStateStore, WalletSyncClient, WalletSyncError, type KeyParams, type SyncResult } from '../../src/portable';

/**
 * The script of a test page in a real browser: one wallet device per page,
 * built from the client's portable core with nothing but what the browser
 * gives it: Web Crypto, its own WebSocket, `localStorage` for the device state
 * and the portable (@noble/hashes) scrypt. The test calls these functions
 * through Playwright (client/tests/helpers/browser.ts inPage).
 */
declare const localStorage: { readonly length: number; getItem(key: string): string | null; setItem(key: string, value: string): void };
declare const location: { origin: string };
declare const navigator: { userAgent: string };
declare const document: { body: { textContent: string | null } };
declare const WebSocket: new (url: string, protocol: string) => {
  onopen: (() => void) | null;
  onclose: ((event: { code: number }) => void) | null;
  close(): void;
};

let device: WalletSyncClient | undefined;
let store: KeyValueDeviceStateStore | undefined;
const syncs: SyncResult[] = [];
const waiting: Array<(result: SyncResult) => void> = [];

function current(): WalletSyncClient {
  if (!device) throw new Error('open() first');
  return device;
}

/** A WalletSyncError keeps its code across the page boundary in the message. */
async function run<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw error instanceof WalletSyncError ? new Error(`${error.code}: ${error.message}`) : error;
  }
}

export const walletDevice = {
  /** `apiUrl`: the server, when it is not at the page's own origin (a web app on a domain of its own, CORS_ORIGINS). */
  /** Each device keeps its state under a key of its own: two devices may share an origin's localStorage (pages of one browser context). */
  open: (deviceId: string, keyParams?: KeyParams, apiUrl?: string) =>
    run(async () => {
      store = new KeyValueDeviceStateStore(localStorage, `wallet-sync/device-state/${deviceId}`);
      device = await WalletSyncClient.open({ url: apiUrl ?? location.origin, deviceId, store, keyParams });
    }),
  register: (email: string, rootPassword: string) =>
    run(async () => {
      await current().register(email, rootPassword);
      await current().login();
    }),
  login: (email: string, rootPassword: string) => run(async () => void (await current().login({ email, rootPassword }))),
  set: (key: string, value: string) => run(async () => void (await current().setPreference(key, value))),
  sync: () => run(() => current().sync()),
  preferences: () => current().preferences(),
  /** Starts watch() and resolves once its WebSocket is up; each sync it triggers is kept for nextSync(). */
  startWatch: () =>
    run(
      () =>
        new Promise<void>((resolve, reject) => {
          const watch = current().watch({
            onConnected: () => resolve(),
            onSync: (result) => {
              const waiter = waiting.shift();
              if (waiter) waiter(result);
              else syncs.push(result);
            },
          });
          watch.done.catch(reject);
        }),
    ),
  /** The next sync a live update triggered (or the oldest one not collected yet). */
  nextSync: () => new Promise<SyncResult>((resolve) => (syncs.length ? resolve(syncs.shift()!) : waiting.push(resolve))),
  /** Whether the browser lets this page open a WebSocket to the API at `apiUrl`: "open", or how it closed before opening. */
  openSocket: (apiUrl: string) =>
    new Promise<string>((resolve) => {
      const socket = new WebSocket(`${apiUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      socket.onopen = () => {
        socket.onclose = null;
        socket.close();
        resolve('open');
      };
      socket.onclose = (event) => resolve(`closed before opening (${event.code})`);
    }),
  storedState: () => (store ? localStorage.getItem(store.key) : null),
  /** How many items the page's origin has in localStorage: 0 for a device that holds nothing yet. */
  storedItems: () => localStorage.length,
  /** With the passkey answering the second factor the change asks for, and the one the login under the new password asks for. */
  changePassword: (currentRootPassword: string, newRootPassword: string) =>
    run(() => current().changePassword(currentRootPassword, newRootPassword, { secondFactor: async (_methods, webauthn) => current().passkeySecondFactor(webauthn!) })),
  // Passkeys: navigator.credentials is the browser's own (a virtual authenticator the test adds over the DevTools protocol).
  addPasskey: (name: string, rootPassword: string) => run(() => current().addPasskey(name, rootPassword)),
  enablePasskeyUnlock: (id: string) => run(() => current().enablePasskeyUnlock(id)),
  /** A password login whose SECOND_FACTOR_REQUIRED the passkey answers: the methods the server offered. */
  loginWithPasskeyAsSecondFactor: (email: string, rootPassword: string) =>
    run(async () => {
      const offered: string[] = [];
      await current().login({ email, rootPassword }, { secondFactor: async (methods, webauthn) => (offered.push(...methods), current().passkeySecondFactor(webauthn!)) });
      return offered;
    }),
  loginWithPasskey: () => run(() => current().loginWithPasskey()),
  unlock: (rootPassword: string) => run(() => current().unlock(rootPassword)),
  /** The browser's assertion (as JSON for the server) for request options the test fetched itself: for replays and tampering. */
  passkeyAssertion: (requestOptions: string) => run(async () => (await current().passkeySecondFactor(requestOptions)).webauthn),
  /** Writes the step into the page, for the screenshot the test takes next. */
  show: (text: string) => {
    document.body.textContent = text;
  },
  environment: () => ({
    userAgent: navigator.userAgent,
    webCrypto: typeof globalThis.crypto?.subtle?.deriveBits === 'function',
    nodeGlobals: ['process', 'Buffer', 'require'].filter((name) => name in globalThis),
  }),
};

export type WalletDevicePage = typeof walletDevice;

(globalThis as unknown as { walletDevice: WalletDevicePage }).walletDevice = walletDevice;
