import { scryptAsync } from '@noble/hashes/scrypt';

/**
 * What the core takes from the platform it runs on, with defaults that need
 * nothing but the web platform (Web Crypto, a global WebSocket). The Node
 * entry point swaps in Node's native scrypt (1.3 to 3 times faster than the
 * portable one, and off the event loop) and the `ws` WebSocket; an app can
 * pass its own per client (WalletSyncClientOptions).
 */
export interface ScryptParams {
  n: number;
  r: number;
  p: number;
}

/** scrypt(password, salt, N, r, p) → `length` bytes. */
export type ScryptFunction = (password: Uint8Array, salt: Uint8Array, params: ScryptParams, length: number) => Promise<Uint8Array>;

/** A WebSocket constructor as graphql-ws takes it (the browser's, React Native's, or `ws`). */
export type WebSocketConstructor = unknown;

/**
 * What passkeys need of the platform: navigator.credentials in a browser, or
 * a stand-in (a native app's passkey bridge, a test's software authenticator).
 * Options go in as WebAuthn's binary form (ArrayBuffers); the credential comes
 * back as a PublicKeyCredential does (see passkey-ceremony.ts).
 */
export interface WebAuthnCredentials {
  create(options: { publicKey: Record<string, unknown> }): Promise<unknown>;
  get(options: { publicKey: Record<string, unknown> }): Promise<unknown>;
}

export interface PlatformDefaults {
  scrypt: ScryptFunction;
  webSocket: WebSocketConstructor | undefined;
  credentials: WebAuthnCredentials | undefined;
}

/** @noble/hashes' audited scrypt: pure JavaScript, yields to the event loop while it works. */
export const portableScrypt: ScryptFunction = (password, salt, { n, r, p }, length) =>
  scryptAsync(password, salt, { N: n, r, p, dkLen: length, maxmem: 129 * n * r * p + 1024 });

export const platformDefaults: PlatformDefaults = {
  scrypt: portableScrypt,
  webSocket: (globalThis as { WebSocket?: unknown }).WebSocket,
  credentials: (globalThis as { navigator?: { credentials?: WebAuthnCredentials } }).navigator?.credentials,
};

/** Sets the defaults every client created afterwards uses (the Node entry calls it once). */
export function configurePlatform(defaults: Partial<PlatformDefaults>): void {
  Object.assign(platformDefaults, defaults);
}
