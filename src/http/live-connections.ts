import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { bearerToken, type EstablishedSession } from '../context';
import { ErrorCode, isDomainError } from '../errors';
import type { RevocationTarget } from '../events/revocations';
import type { TokensRevokedEvent } from '../events/topics';
import type { AuthSession } from '../services/session';
import type { SessionService } from '../services/session.service';
import { SubscriptionCloseCode } from './socket-binding';

/** An authenticated socket: the session its connection_init's token opened, `ended` once the socket is being closed for it. */
export interface LiveConnection extends EstablishedSession {
  token: string;
  socket: WebSocket;
}

export interface LiveConnectionsDeps {
  sessions: Pick<SessionService, 'authenticate'>;
  /** Which of these tokens still authenticate, without counting as a use; a batched query. */
  stillValid(tokens: readonly string[]): Promise<Set<string>>;
  maxConnectionsPerAccount: number;
  logger: Logger;
}

/**
 * The authenticated connections of this instance, by account: what a
 * revocation, a token's expiry and the per-account cap close. A connection
 * enters with admit() and leaves with release() or with the close that ends it.
 */
export class LiveConnections implements RevocationTarget {
  private readonly byAccount = new Map<number, Set<LiveConnection>>();

  constructor(private readonly deps: LiveConnectionsDeps) {}

  /**
   * Authenticates a connection_init's `authorization` and tracks the socket as
   * that session's; undefined when it may not stay (the socket is closed then:
   * 4401 for a token that does not authenticate, 1013 when it could not be checked).
   */
  async admit(socket: WebSocket, authorization: unknown): Promise<LiveConnection | undefined> {
    const token = bearerToken(typeof authorization === 'string' ? authorization : undefined);
    if (!token) return refuse(socket);
    let session: AuthSession;
    try {
      session = await this.deps.sessions.authenticate(token);
    } catch (error) {
      if (isUnauthenticated(error)) return refuse(socket);
      return this.failed(socket, error, 'authenticating a WebSocket connection failed');
    }
    // The client may have gone while the token was looked up: then there is nothing to track.
    if (socket.readyState !== socket.OPEN) return undefined;
    const connection: LiveConnection = { token, session, socket };
    this.track(connection);
    // A revocation published between the look-up above and track() found nothing to close: look once more, now that it would.
    try {
      if (!(await this.deps.stillValid([token])).has(token)) {
        this.release(connection);
        return refuse(socket);
      }
    } catch (error) {
      this.release(connection);
      return this.failed(socket, error, "checking a new WebSocket connection's token failed");
    }
    if (socket.readyState === socket.OPEN) return connection;
    this.release(connection);
    return undefined;
  }

  release(connection: LiveConnection): void {
    const set = this.byAccount.get(connection.session.accountId);
    set?.delete(connection);
    if (set?.size === 0) this.byAccount.delete(connection.session.accountId);
  }

  /** Closes the connection with 4401 when its token has expired by `now` (ms since the epoch, the clock's). */
  expireAt(connection: LiveConnection, now: number): void {
    if (connection.session.expiresAt.getTime() > now) return;
    this.end(connection, SubscriptionCloseCode.Unauthorized, 'Token expired');
  }

  tokensRevoked({ accountId, deviceId }: TokensRevokedEvent): void {
    for (const connection of this.byAccount.get(accountId) ?? []) {
      if (deviceId === null || connection.session.deviceId === deviceId) void this.recheck(connection);
    }
  }

  /** Closes every tracked connection whose token stopped working; batched queries, so its cost grows by one statement per 500 connections. */
  async recheckAll(): Promise<void> {
    const all = [...this.byAccount.values()].flatMap((set) => [...set]);
    if (all.length === 0) return;
    const valid = await this.deps.stillValid([...new Set(all.map((connection) => connection.token))]);
    for (const connection of all) {
      if (!valid.has(connection.token)) this.end(connection, SubscriptionCloseCode.Unauthorized, 'Token revoked');
    }
  }

  private track(connection: LiveConnection): void {
    const { accountId } = connection.session;
    const { maxConnectionsPerAccount: limit, logger } = this.deps;
    let set = this.byAccount.get(accountId);
    if (!set) this.byAccount.set(accountId, (set = new Set()));
    set.add(connection);
    // A Set keeps insertion order: the first ones are the oldest.
    for (const oldest of [...set].slice(0, Math.max(0, set.size - limit))) {
      logger.info({ accountId, limit }, 'an account opened more WebSocket connections than allowed: the oldest is closed');
      this.end(oldest, SubscriptionCloseCode.TooManyRequests, 'Too many connections for this account');
    }
  }

  private async recheck(connection: LiveConnection): Promise<void> {
    try {
      await this.deps.sessions.authenticate(connection.token);
    } catch (error) {
      if (isUnauthenticated(error)) {
        this.end(connection, SubscriptionCloseCode.Unauthorized, 'Token revoked');
      } else {
        this.deps.logger.error({ err: error }, 'checking the token of a live connection failed; closing it');
        this.end(connection, SubscriptionCloseCode.TryAgainLater, 'Try again later');
      }
    }
  }

  /** Nothing runs as the connection's session from here on (an operation in flight fails UNAUTHENTICATED), and its socket closes. */
  private end(connection: LiveConnection, code: number, reason: string): void {
    connection.ended = true;
    this.release(connection);
    connection.socket.close(code, reason);
  }

  private failed(socket: WebSocket, error: unknown, what: string): undefined {
    this.deps.logger.error({ err: error }, what);
    socket.close(SubscriptionCloseCode.TryAgainLater, 'Try again later');
    return undefined;
  }
}

function refuse(socket: WebSocket): undefined {
  // Closing first makes the code 4401 (Unauthorized); the 4403 graphql-ws sends for `false` then finds the socket closing.
  socket.close(SubscriptionCloseCode.Unauthorized, 'Unauthorized');
  return undefined;
}

function isUnauthenticated(error: unknown): boolean {
  return isDomainError(error, ErrorCode.Unauthenticated);
}
