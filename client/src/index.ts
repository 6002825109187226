/**
 * The Node entry: `import { WalletSyncClient } from 'wallet-sync-client'`.
 * The portable client with Node's defaults (native scrypt, the `ws`
 * WebSocket) and the file state store. Nothing here imports the server.
 */
import { configurePlatform } from './platform';
import { NodeWebSocket, nodeScrypt } from './node/node-platform';

configurePlatform({ scrypt: nodeScrypt, webSocket: NodeWebSocket });

export * from './portable';
export { FileDeviceStateStore } from './node/file-device-state.store';
export { nodeScrypt } from './node/node-platform';
