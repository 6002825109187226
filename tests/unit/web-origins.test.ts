import type { IncomingMessage } from 'node:http';
import type { WebOrigins } from '../../src/config';
import { upgradeOriginCheck } from '../../src/http/web-origins';

const upgrade = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const listed: WebOrigins = { kind: 'listed', origins: new Set(['https://wallet.example.com', 'chrome-extension://abcdefghijklmnop']) };
const none: WebOrigins = { kind: 'none' };

describe('upgradeOriginCheck (the WebSocket upgrade\'s Origin)', () => {
  it.each<[string, boolean, WebOrigins, string | undefined, Record<string, string>]>([
    ['no Origin (a native app), nothing listed', true, none, undefined, { host: 'sync.example.org' }],
    ['the server\'s own origin, by its Host', true, none, undefined, { host: 'sync.example.org', origin: 'https://sync.example.org' }],
    ['the server\'s own origin with a port, Host in capitals', true, none, undefined, { host: 'SYNC.example.org:8443', origin: 'https://sync.example.org:8443' }],
    ['PUBLIC_URL\'s origin behind a proxy that rewrote Host', true, none, 'https://sync.example.org/', { host: '127.0.0.1:8090', origin: 'https://sync.example.org' }],
    ['another origin, nothing listed', false, none, undefined, { host: 'sync.example.org', origin: 'https://wallet.example.com' }],
    ['the same host on another port', false, none, undefined, { host: 'sync.example.org', origin: 'https://sync.example.org:8443' }],
    ['a listed web app', true, listed, undefined, { host: 'sync.example.org', origin: 'https://wallet.example.com' }],
    ['a listed extension', true, listed, undefined, { host: 'sync.example.org', origin: 'chrome-extension://abcdefghijklmnop' }],
    ['an unlisted origin', false, listed, undefined, { host: 'sync.example.org', origin: 'https://evil.example.net' }],
    ['a listed origin\'s host under another scheme', false, listed, undefined, { host: 'sync.example.org', origin: 'http://wallet.example.com' }],
    ['the opaque origin "null"', false, listed, undefined, { host: 'sync.example.org', origin: 'null' }],
    ['an Origin that is not a URL, no Host', false, none, undefined, { origin: '%%%' }],
    ['any origin when * is configured', true, { kind: 'any' }, undefined, { host: 'sync.example.org', origin: 'https://evil.example.net' }],
  ])('when the upgrade comes from %s, then it is accepted: %s', (_name, accepted, origins, publicUrl, headers) => {
    expect(upgradeOriginCheck(origins, publicUrl)(upgrade(headers))).toBe(accepted);
  });
});
