import { fromGraphQLErrors, type WalletSyncError } from '../client.errors';
import type { LiveSocket } from './live-connection';
import { WalletUpdatedDocument, type WalletUpdatedSubscription } from './operations.generated';

export interface WalletUpdatesHandlers {
  /** A wallet update of this account landed on the server at `sequence`. */
  onUpdate(sequence: number): void;
  /** The server refused the subscription: it ended for good. */
  onFatal(error: WalletSyncError): void;
  /** An event arrived with errors instead of data; the subscription goes on. */
  onError(error: WalletSyncError): void;
}

/**
 * walletUpdated over the device's live connection. On every reconnect
 * graphql-ws re-sends `sinceSequence`, and the server answers with the current
 * sequence when it is newer, so updates missed while disconnected are not
 * lost. The connection's own closes are the connection's to report
 * (LiveSocketHandlers.onClosed). Returns the function that unsubscribes.
 */
export function subscribeToWalletUpdates(socket: LiveSocket, sinceSequence: number, handlers: WalletUpdatesHandlers): () => void {
  let ended = false;
  let resubscribes = 0;
  let unsubscribe: () => void = () => undefined;
  const subscribe = () => {
    unsubscribe = socket.subscribe<WalletUpdatedSubscription>(WalletUpdatedDocument, { sinceSequence }, {
      next: (result) => {
        resubscribes = 0;
        if (result.errors?.length) handlers.onError(fromGraphQLErrors(result.errors));
        else if (result.data) handlers.onUpdate(result.data.walletUpdated.sequence);
      },
      // An array is the server's `error` message (the subscription was refused); anything else is the connection's.
      error: (error) => {
        if (!ended && Array.isArray(error)) handlers.onFatal(fromGraphQLErrors(error));
      },
      // The server ended the subscription (not the connection): subscribe again, after a pause.
      complete: () => {
        if (ended) return;
        void socket.pause(resubscribes++).then(() => {
          if (!ended) subscribe();
        });
      },
    });
  };
  subscribe();
  return () => {
    ended = true;
    unsubscribe();
  };
}
