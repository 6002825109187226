import { scrypt } from 'node:crypto';
import WebSocket from 'ws';
import type { ScryptFunction } from '../platform';

/** Node's native scrypt: 1.3 to 3 times faster than the portable one here (npm run bench:scrypt), and it runs on libuv's pool, off the event loop. */
export const nodeScrypt: ScryptFunction = (password, salt, { n, r, p }, length) =>
  new Promise((resolve, reject) =>
    // Node refuses more than 32 MiB by default; N=2^20 needs 1 GiB (128·N·r·p bytes).
    scrypt(password, salt, length, { N: n, r, p, maxmem: 129 * n * r * p + 1024 }, (error, key) => (error ? reject(error) : resolve(new Uint8Array(key)))),
  );

export { WebSocket as NodeWebSocket };
