import { unauthenticated } from './errors';
import type { AuthSession } from './services/session';
import type { SessionService } from './services/session.service';
import type { WalletState } from './services/wallet-state';
import type { WalletService } from './services/wallet.service';
import type { WalletUpdateFeed } from './events/wallet-updates';

/** What every resolver sees about the request it serves. */
export interface RequestContext {
  requestId: string;
  ip: string;
  /**
   * The caller's session, resolved from `Authorization: Bearer <token>` on first
   * use and remembered for the request. Public operations never pay for the lookup.
   */
  session(): Promise<AuthSession>;
  /**
   * The signed-in account's wallet: read together with the session in one
   * statement when the session was not looked up yet. UNAUTHENTICATED as session().
   */
  wallet(): Promise<WalletState | null>;
  /** The session if session() has already resolved it (for logs); never triggers a lookup. */
  knownSession(): AuthSession | undefined;
  /**
   * The live wallet updates, for the walletUpdated subscription: type-graphql
   * calls a subscription's `subscribe` without its resolver instance, so it
   * reaches the feed through the context (Apollo's place for data sources).
   */
  walletUpdates: Pick<WalletUpdateFeed<WalletState>, 'stream'>;
}

/** The services a request context reaches. */
export interface ContextDeps {
  sessions: Pick<SessionService, 'authenticate' | 'authenticateWithWallet'>;
  wallets: Pick<WalletService, 'get'>;
  walletUpdates: Pick<WalletUpdateFeed<WalletState>, 'stream'>;
}

export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i.exec(authorization ?? '');
  return match?.[1];
}

/**
 * A session a WebSocket connection established at connection_init. `ended` is
 * set when its token is revoked or expires: the close is then on its way, and
 * nothing may run as that session meanwhile.
 */
export interface EstablishedSession {
  readonly session: AuthSession;
  ended?: boolean;
}

/** A request's identity, with the bearer token when it arrived over HTTP, or the session a WebSocket connection already established. */
export interface RequestFacts {
  requestId: string;
  ip: string;
  authorization: string | undefined;
  /** Already established: a WebSocket connection authenticates once, at connection_init. */
  established?: EstablishedSession;
}

export function createRequestContext(deps: ContextDeps, request: RequestFacts): RequestContext {
  return new LazyRequestContext(deps, request);
}

/**
 * A class rather than an object of closures: a subscription keeps its context
 * as long as it is open, and methods on the prototype cost nothing per context.
 */
class LazyRequestContext implements RequestContext {
  readonly requestId: string;
  readonly ip: string;
  private readonly authorization: string | undefined;
  private sessionLookup: Promise<AuthSession> | undefined;
  private known: AuthSession | undefined;
  private readonly established: EstablishedSession | undefined;

  constructor(
    private readonly deps: ContextDeps,
    request: RequestFacts,
  ) {
    this.requestId = request.requestId;
    this.ip = request.ip;
    this.authorization = request.authorization;
    this.established = request.established;
  }

  get walletUpdates(): ContextDeps['walletUpdates'] {
    return this.deps.walletUpdates;
  }

  session(): Promise<AuthSession> {
    const { established } = this;
    // Not remembered: a connection's session may end between two operations, or during one.
    if (established) return established.ended ? Promise.reject(unauthenticated()) : Promise.resolve(established.session);
    if (!this.sessionLookup) {
      const token = bearerToken(this.authorization);
      this.remember(token ? this.deps.sessions.authenticate(token) : Promise.reject(unauthenticated()));
    }
    return this.sessionLookup!;
  }

  async wallet(): Promise<WalletState | null> {
    const token = this.established ? undefined : bearerToken(this.authorization);
    if (this.sessionLookup || !token) return this.deps.wallets.get((await this.session()).accountId);
    const both = this.deps.sessions.authenticateWithWallet(token);
    this.remember(both.then((b) => b.session));
    return (await both).wallet;
  }

  knownSession(): AuthSession | undefined {
    return this.established?.session ?? this.known;
  }

  private remember(lookup: Promise<AuthSession>): void {
    this.sessionLookup = lookup;
    // The failure reaches the caller through the promise it holds; here it is only not remembered.
    lookup.then((resolved) => (this.known = resolved)).catch(() => {});
  }
}
