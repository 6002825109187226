import { invalidArgument } from './client-arguments';
import { ClientErrorCode, ServerErrorCode, WalletSyncError } from './client.errors';
import type { DeviceSession } from './device-session';
import { subscribeToWalletUpdates, webSocketEndpoint, type ReconnectBackoff, type WalletUpdatesSubscription } from './graphql/wallet-updates.subscription';
import type { Divergence } from './history-chain';
import { platformDefaults, type WebSocketConstructor } from './platform';
import type { SyncEngine, SyncResult } from './sync-engine';

export interface WatchOptions {
  /** After each sync that an update triggered. */
  onSync?(result: SyncResult): void;
  /** A sync found (and healed) a server history that diverged from what this device saw; onSync follows. */
  onDivergence?(divergence: Divergence): void;
  /** A failed sync or a bad event; watching goes on (the next update retries). */
  onError?(error: WalletSyncError): void;
  /** The live connection is up; `reconnected` after a drop. */
  onConnected?(reconnected: boolean): void;
  reconnect?: ReconnectBackoff;
}

export interface WalletWatch {
  /** Settles when watching ends: resolves after stop(), rejects with the error that ended it (e.g. UNAUTHENTICATED). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export interface WalletWatchDependencies {
  session: DeviceSession;
  engine: SyncEngine;
  /** The WebSocket constructor from the client's options; the platform's by default. */
  webSocket: WebSocketConstructor | undefined;
}

/**
 * Why it exists: live updates turned into syncs. It subscribes to
 * walletUpdated and queues one sync per update that names a sequence other
 * than the one this device holds, each under the session's lock, so a live
 * update never interleaves with a local edit. It follows a new login on this
 * device to the new token, and ends on a token refused for good.
 */
export function watchWallet(deps: WalletWatchDependencies, options: WatchOptions): WalletWatch {
  const { session, engine } = deps;
  session.keys();
  const webSocket = deps.webSocket ?? platformDefaults.webSocket;
  if (!webSocket) {
    throw invalidArgument('No WebSocket on this platform: pass WalletSyncClientOptions.webSocket (in Node, import the package\'s main entry, which uses ws)');
  }
  let settle: { resolve(): void; reject(error: unknown): void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // Marks the promise handled: an app that never awaits `done` must not crash on a fatal error.
  done.catch(() => undefined);
  let syncs = Promise.resolve();
  let stopped = false;
  let subscription: WalletUpdatesSubscription;

  const end = async (error?: WalletSyncError) => {
    if (stopped) return;
    stopped = true;
    session.api.useLiveConnection(null);
    await subscription.dispose();
    await syncs;
    if (error) settle.reject(error);
    else settle.resolve();
  };
  // Any sequence but the one this device holds means work: a newer one to take in, or an older one that tells the
  // server went back (restored from a backup, and another device already re-uploaded onto it). null: check anyway.
  const catchUp = (sequence: number | null) => {
    syncs = syncs.then(async () => {
      if (stopped) return;
      let result: SyncResult | null;
      try {
        result = await session.exclusive(async () => {
          const held = session.state.base?.sequence ?? 0;
          if (held === sequence) return null;
          const synced = await engine.syncHeld({});
          // An older sequence is usually just a late event: say nothing when the sync found nothing.
          const quiet = sequence !== null && sequence < held && !synced.pulled && !synced.pushed && !synced.divergence;
          return quiet ? null : synced;
        });
      } catch (error) {
        const failure = error instanceof WalletSyncError ? error : new WalletSyncError(ClientErrorCode.Network, String(error), { cause: error });
        if (failure.code === ServerErrorCode.Unauthenticated) void end(failure);
        else notify(options.onError, failure);
        return;
      }
      if (result?.divergence) notify(options.onDivergence, result.divergence);
      if (result) notify(options.onSync, result);
    });
  };
  const onFatal = async (error: WalletSyncError) => {
    const current = session.state.authToken?.token;
    if (stopped || error.code !== ServerErrorCode.Unauthenticated || !current || current === subscription.authToken()) return end(error);
    await subscription.dispose();
    if (!stopped) start();
  };
  const start = () => {
    subscription = subscribeToWalletUpdates(
      webSocketEndpoint(session.endpoint),
      () => session.state.authToken?.token ?? null,
      session.state.base?.sequence ?? 0,
      {
        onUpdate: catchUp,
        onError: (error) => notify(options.onError, error),
        onFatal: (error) => void onFatal(error),
        onConnected: (reconnected) => {
          notify(options.onConnected, reconnected);
          // The subscription only announces a newer sequence; a server that came back older (a restore) says nothing.
          if (reconnected) catchUp(null);
        },
      },
      options.reconnect ?? {},
      webSocket,
    );
    // While the connection is up, the syncs it triggers (and the app's own) read and write over it.
    session.api.useLiveConnection(subscription);
  };
  start();
  return { done, stop: () => end() };
}

/**
 * Calls an app's callback. What it throws is rethrown on its own tick, as an
 * EventEmitter listener's would be: it must not break the watch's sync queue
 * or graphql-ws's bookkeeping, nor be swallowed.
 */
function notify<T>(callback: ((value: T) => void) | undefined, value: T): void {
  try {
    callback?.(value);
  } catch (error) {
    // A fresh macrotask on every platform (process.nextTick is Node's alone).
    setTimeout(() => {
      throw error;
    });
  }
}
