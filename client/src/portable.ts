/**
 * The portable entry: everything but the Node adapters. It imports nothing
 * from `node:`, so it bundles for browsers and React Native (package.json maps
 * the `browser` and `react-native` conditions here). It needs Web Crypto
 * (`crypto.subtle`, `crypto.getRandomValues`), a WebSocket for connect() and watch() (the
 * global one, or WalletSyncClientOptions.webSocket) and a DeviceStateStore.
 */
export { WalletSyncClient } from './wallet-sync.client';
export type { WalletSyncClientOptions } from './wallet-sync.client';
export type { DeviceStatus, LoginOptions, PasskeySignInResult, RegisterResult } from './device-session';
export type { PasskeyInfo } from './graphql/sync-server.api';
export { PASSKEY_PRF_SALT_TEXT, passkeyPrfSalt, passkeyWrapKey, unwrapKeys, wrapKeys } from './passkey-unlock';
export type { LostEdit, PullResult, PushResult, SyncOptions, SyncResult, WalletStateInfo } from './sync-engine';
export type { AccountActivityEvent, RestoreResult, WalletHistoryEntry } from './wallet-history';
export type { WalletWatch, WatchOptions } from './wallet-watch';
export type { ConnectOptions, WalletConnection } from './device-connection';
export { ClientErrorCode, SecondFactorRequiredError, ServerErrorCode, WalletSyncError, isIntegrityError } from './client.errors';
export type { SecondFactor, SecondFactorMethod, SecondFactorSource } from './client.errors';
export { KeyValueDeviceStateStore, MemoryDeviceStateStore, newDeviceState } from './device-state.store';
export type { DeviceState, DeviceStateStore, KeyValueStorage } from './device-state.store';
export { compareEntries, laterWriteWins, mergeDocuments } from './wallet-merge';
export type { PreferenceResolver, PreferenceSides } from './wallet-merge';
export { EMPTY_DOCUMENT, MAX_PREFERENCE_KEY_LENGTH, preferenceValues, withPreference } from './wallet-document';
export type { PreferenceEntry, WalletDocument } from './wallet-document';
export { WALLET_FORMAT_PREFIX, decryptWallet, encryptWallet, openWalletState, salvageWalletState, sealWalletState } from './wallet-cipher';
export type { SealedWalletState } from './wallet-cipher';
export { DEFAULT_KEY_PARAMS, KEY_PARAMS_BOUNDS, clientSalt, deriveWalletKeys, keyParamsOf, newClientSaltSeed, normalizeEmail, walletStateHmac } from './wallet-keys';
export type { KeyParams, WalletKeys } from './wallet-keys';
export { configurePlatform, portableScrypt } from './platform';
export type { PlatformDefaults, ScryptFunction, ScryptParams, WebAuthnCredentials, WebSocketConstructor } from './platform';
export type { ReconnectBackoff } from './graphql/live-connection';
export { SEEN_STATES_KEPT, chainOf } from './history-chain';
export type { ChainMark, Divergence, StateLink } from './history-chain';
