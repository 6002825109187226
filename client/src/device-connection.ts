import { notify } from './app-callbacks';
import { invalidArgument } from './client-arguments';
import { ServerErrorCode, type WalletSyncError } from './client.errors';
import type { DeviceSession } from './device-session';
import { openLiveSocket, webSocketEndpoint, type LiveSocket, type ReconnectBackoff } from './graphql/live-connection';
import { platformDefaults, type WebSocketConstructor } from './platform';

export interface ConnectOptions {
  /** The live connection is up; `reconnected` after a drop. */
  onConnected?(reconnected: boolean): void;
  /** The backoff between reconnection attempts; the one of whichever opened the connection (connect() or watch()) applies. */
  reconnect?: ReconnectBackoff;
}

export interface WalletConnection {
  /**
   * Settles when the device stops holding the connection for the app:
   * resolves after disconnect(), logout() or deleteAccount(); rejects with the
   * error that ended it (UNAUTHENTICATED: the token was refused for good, log in again).
   */
  readonly done: Promise<void>;
  disconnect(): Promise<void>;
}

/** One user of the device's connection: the app's connect(), or a watch. */
export interface ConnectionHolder {
  reconnect?: ReconnectBackoff;
  /** The socket the holder is on: at join, and again when a new login on this device replaced it. */
  onSocket?(socket: LiveSocket): void;
  /** The connection is up; `reconnected` when this holder saw it up before. */
  onConnected(reconnected: boolean): void;
  /** The connection ended under the holder: on purpose (no error), or for good (the error). */
  onEnded(error?: WalletSyncError): void;
}

export interface DeviceConnectionDependencies {
  session: DeviceSession;
  /** The WebSocket constructor from the client's options; the platform's by default. */
  webSocket: WebSocketConstructor | undefined;
}

/**
 * Why it exists: a device holds at most one live connection, however many
 * parts want it (the app's connect(), each watch()): one socket, authenticated
 * with the device's token, over which the sync's operations go while it is up.
 * It opens with the first holder and closes with the last, follows a new login
 * on this device to the new token, and ends under every holder when the token
 * is refused for good or this device logs out or deletes its account.
 */
export class DeviceConnection {
  private socket: LiveSocket | null = null;
  private readonly holders = new Set<ConnectionHolder>();
  /** The holders that saw the connection up: their next onConnected is a reconnection. */
  private readonly seenUp = new Set<ConnectionHolder>();
  /** The app's connect(), while it holds. */
  private held: WalletConnection | null = null;

  constructor(private readonly deps: DeviceConnectionDependencies) {}

  /** The app's hold (WalletSyncClient.connect()); the same one again while it holds. */
  connect(options: ConnectOptions): WalletConnection {
    this.deps.session.keys();
    if (this.held) return this.held;
    let settle!: { resolve(): void; reject(error: unknown): void };
    const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // Marks the promise handled: an app that never awaits `done` must not crash on a refused token.
    done.catch(() => undefined);
    const ended = (error?: WalletSyncError) => {
      if (this.held === held) this.held = null;
      if (error) settle.reject(error);
      else settle.resolve();
    };
    const holder: ConnectionHolder = { reconnect: options.reconnect, onConnected: (reconnected) => notify(options.onConnected, reconnected), onEnded: ended };
    const held: WalletConnection = {
      done,
      disconnect: async () => {
        await this.leave(holder);
        ended();
      },
    };
    this.join(holder);
    this.held = held;
    return held;
  }

  /** Ends the app's hold; the connection closes unless a watch still holds it. */
  disconnect(): Promise<void> {
    return this.held?.disconnect() ?? Promise.resolve();
  }

  /** Holds the connection, opening it when nobody did. */
  join(holder: ConnectionHolder): void {
    const socket = this.socket ?? this.open(holder.reconnect ?? {});
    this.holders.add(holder);
    holder.onSocket?.(socket);
    // Already up: said on a later tick, as when it comes up, so the holder's caller has what join() set up first.
    if (socket.connected()) void Promise.resolve().then(() => socket === this.socket && this.announce(holder));
  }

  /** Lets go of the connection (onEnded is not called); it closes with the last holder. */
  async leave(holder: ConnectionHolder): Promise<void> {
    if (!this.holders.delete(holder)) return;
    this.seenUp.delete(holder);
    if (this.holders.size === 0) await this.closeSocket();
  }

  /** Closes the connection under every holder: this device logged out or deleted its account, or its token was refused for good. */
  async end(error?: WalletSyncError): Promise<void> {
    const holders = [...this.holders];
    this.holders.clear();
    this.seenUp.clear();
    await this.closeSocket();
    for (const holder of holders) holder.onEnded(error);
  }

  private open(backoff: ReconnectBackoff): LiveSocket {
    const { session } = this.deps;
    const webSocket = this.deps.webSocket ?? platformDefaults.webSocket;
    if (!webSocket) {
      throw invalidArgument('No WebSocket on this platform: pass WalletSyncClientOptions.webSocket (in Node, import the package\'s main entry, which uses ws)');
    }
    const socket: LiveSocket = openLiveSocket(
      webSocketEndpoint(session.endpoint),
      () => session.state.authToken?.token ?? null,
      {
        onConnected: () => {
          if (socket === this.socket) for (const holder of [...this.holders]) this.announce(holder);
        },
        onClosed: (error) => void this.closedForGood(socket, error, backoff),
      },
      backoff,
      webSocket,
    );
    this.socket = socket;
    // While the connection is up, the sync's reads and writes (the app's and the watches') go over it.
    session.api.useLiveConnection(socket);
    return socket;
  }

  private announce(holder: ConnectionHolder): void {
    if (!this.holders.has(holder)) return;
    const reconnected = this.seenUp.has(holder);
    this.seenUp.add(holder);
    holder.onConnected(reconnected);
  }

  /**
   * The server closed the socket for good (4401 once the token it authenticated
   * with is revoked or expired). A login on this device revokes that token too,
   * and the close can come before the login has stored the new one, so the
   * session's lock is waited for first: a new token here is followed on a new
   * socket; no token (this device logged out or deleted its account) ends the
   * connection quietly; the same token ends it with the error.
   */
  private async closedForGood(socket: LiveSocket, error: WalletSyncError, backoff: ReconnectBackoff): Promise<void> {
    const { session } = this.deps;
    const token = await session.exclusive(() => session.state.authToken?.token ?? null);
    if (socket !== this.socket) return;
    if (token === null) return this.end();
    if (error.code !== ServerErrorCode.Unauthenticated || token === socket.authToken()) return this.end(error);
    await socket.dispose();
    if (socket !== this.socket) return;
    const next = this.open(backoff);
    for (const holder of [...this.holders]) holder.onSocket?.(next);
  }

  private async closeSocket(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    this.deps.session.api.useLiveConnection(null);
    await socket.dispose();
  }
}
