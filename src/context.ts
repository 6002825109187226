import { unauthenticated } from './errors';
import type { AuthSession } from './services/session';
import type { SessionService } from './services/session.service';
import type { WalletState } from './services/wallet-state';
import type { WalletService } from './services/wallet.service';

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
   * The wallet service, for the walletUpdated subscription: type-graphql calls
   * a subscription's `subscribe` without its resolver instance, so it reaches
   * the service through the context (Apollo's place for data sources).
   */
  wallets: Pick<WalletService, 'updates'>;
}

/** The services a request context reaches. */
export interface ContextDeps {
  sessions: Pick<SessionService, 'authenticate' | 'authenticateWithWallet'>;
  wallets: Pick<WalletService, 'get' | 'updates'>;
}

export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i.exec(authorization ?? '');
  return match?.[1];
}

export function createRequestContext(
  deps: ContextDeps,
  request: {
    requestId: string;
    ip: string;
    authorization: string | undefined;
    /** Already established: a WebSocket connection authenticates once, at connection_init. */
    session?: AuthSession;
  },
): RequestContext {
  let session: Promise<AuthSession> | undefined = request.session && Promise.resolve(request.session);
  let known: AuthSession | undefined = request.session;
  const context: RequestContext = {
    requestId: request.requestId,
    ip: request.ip,
    session() {
      if (!session) {
        const token = bearerToken(request.authorization);
        session = token ? deps.sessions.authenticate(token) : Promise.reject(unauthenticated());
        session.then((resolved) => (known = resolved)).catch(() => {});
      }
      return session;
    },
    async wallet() {
      const token = bearerToken(request.authorization);
      if (session || !token) return deps.wallets.get((await context.session()).accountId);
      const both = deps.sessions.authenticateWithWallet(token);
      session = both.then((b) => b.session);
      // The same failure reaches the caller through `both`.
      session.then((resolved) => (known = resolved)).catch(() => {});
      return (await both).wallet;
    },
    knownSession: () => known,
    wallets: deps.wallets,
  };
  return context;
}
