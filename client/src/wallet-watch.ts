import { notify } from './app-callbacks';
import { ClientErrorCode, ServerErrorCode, WalletSyncError } from './client.errors';
import type { ConnectOptions, ConnectionHolder, DeviceConnection } from './device-connection';
import type { DeviceSession } from './device-session';
import { subscribeToWalletUpdates } from './graphql/wallet-updates.subscription';
import type { Divergence } from './history-chain';
import type { SyncEngine, SyncResult } from './sync-engine';

/** connect()'s options (onConnected, reconnect), as a watch holds the same connection, and the watch's own. */
export interface WatchOptions extends ConnectOptions {
  /** After each sync that an update triggered. */
  onSync?(result: SyncResult): void;
  /** A sync found (and healed) a server history that diverged from what this device saw; onSync follows. */
  onDivergence?(divergence: Divergence): void;
  /** A failed sync or a bad event; watching goes on (the next update retries). */
  onError?(error: WalletSyncError): void;
}

export interface WalletWatch {
  /** Settles when watching ends: resolves after stop(), rejects with the error that ended it (e.g. UNAUTHENTICATED). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export interface WalletWatchDependencies {
  session: DeviceSession;
  engine: SyncEngine;
  /** The device's live connection, which the watch holds while it runs (with connect() and other watches). */
  connection: DeviceConnection;
}

/**
 * Why it exists: live updates turned into syncs. It holds the device's live
 * connection, subscribes to walletUpdated over it and queues one sync per
 * update that names a sequence other than the one this device holds, each
 * under the session's lock, so a live update never interleaves with a local
 * edit. The connection follows a new
 * login on this device to the new token; the watch ends with it (a token
 * refused for good, a logout).
 */
export function watchWallet(deps: WalletWatchDependencies, options: WatchOptions): WalletWatch {
  const { session, engine, connection } = deps;
  session.keys();
  let settle: { resolve(): void; reject(error: unknown): void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // Marks the promise handled: an app that never awaits `done` must not crash on a fatal error.
  done.catch(() => undefined);
  let syncs = Promise.resolve();
  let stopped = false;
  let unsubscribe: () => void = () => undefined;

  const end = async (error?: WalletSyncError) => {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    await connection.leave(holder);
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
  const holder: ConnectionHolder = {
    reconnect: options.reconnect,
    onSocket: (socket) => {
      unsubscribe();
      unsubscribe = subscribeToWalletUpdates(socket, session.state.base?.sequence ?? 0, {
        onUpdate: catchUp,
        onError: (error) => notify(options.onError, error),
        onFatal: (error) => void end(error),
      });
    },
    onConnected: (reconnected) => {
      notify(options.onConnected, reconnected);
      // The subscription only announces a newer sequence; a server that came back older (a restore) says nothing.
      if (reconnected) catchUp(null);
    },
    onEnded: (error) => void end(error),
  };
  connection.join(holder);
  return { done, stop: () => end() };
}
