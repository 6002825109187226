import { unauthenticated } from './errors';
import type { AuthSession } from './services/session';
import type { WalletState } from './services/wallet-state';

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
  /** The signed-in account's wallet updates (see walletUpdated in the schema). */
  walletUpdates(sinceSequence: number | null | undefined): Promise<AsyncIterable<{ sequence: number }>>;
}

export interface ContextDeps {
  authenticate(token: string): Promise<AuthSession>;
  authenticateWithWallet(token: string): Promise<{ session: AuthSession; wallet: WalletState | null }>;
  wallet(accountId: number): Promise<WalletState | null>;
  walletUpdates(accountId: number, sinceSequence: number | null | undefined): AsyncIterable<{ sequence: number }>;
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
        session = token ? deps.authenticate(token) : Promise.reject(unauthenticated());
        session.then((resolved) => (known = resolved)).catch(() => {});
      }
      return session;
    },
    async wallet() {
      const token = bearerToken(request.authorization);
      if (session || !token) return deps.wallet((await context.session()).accountId);
      const both = deps.authenticateWithWallet(token);
      session = both.then((b) => b.session);
      // The same failure reaches the caller through `both`.
      session.then((resolved) => (known = resolved)).catch(() => {});
      return (await both).wallet;
    },
    knownSession: () => known,
    async walletUpdates(sinceSequence) {
      const { accountId } = await context.session();
      return deps.walletUpdates(accountId, sinceSequence);
    },
  };
  return context;
}
