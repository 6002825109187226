import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { ClientError, GraphQLClient, type RequestOptions, type Variables } from 'graphql-request';
import { ClientErrorCode, WalletSyncError, fromGraphQLErrors, type SecondFactor } from '../client.errors';
import { LiveConnectionLost, type LiveConnection } from './live-connection';
import {
  AccountActivityDocument,
  BeginTotpDocument,
  BeginPasskeyRegistrationDocument,
  FinishPasskeyRegistrationDocument,
  LoginWithPasskeyDocument,
  PasskeySignInOptionsDocument,
  PasskeysDocument,
  SetPasskeyUnlockDocument,
  type LoginWithPasskeyMutation,
  type PasskeyFieldsFragment,
  ChangePasswordDocument,
  ConfirmTotpDocument,
  DisableTotpDocument,
  RegenerateRecoveryCodesDocument,
  SecondFactorStatusDocument,
  ServerInfoDocument,
  ResendVerificationEmailDocument,
  ClientKeyParamsDocument,
  DeleteAccountDocument,
  LoginDocument,
  LogoutDocument,
  RegisterDocument,
  UpdateWalletStateDocument,
  WalletHistoryDocument,
  WalletStateDocument,
  WalletVersionDocument,
  type AccountActivityQuery,
  type ChangePasswordInput,
  type ClientKeyParamsQuery,
  type LoginInput,
  type RegisterInput,
  type WalletStateFieldsFragment,
  type WalletHistoryQuery,
  type WalletStateInput,
} from './operations.generated';

export type RemoteWalletState = WalletStateFieldsFragment;
export type WalletStateHeader = WalletHistoryQuery['walletHistory'][number];
export type AccountEvent = AccountActivityQuery['accountActivity'][number];

/** The most headers walletHistory answers at once (PROTOCOL.md). */
export const HISTORY_PAGE = 1000;

/** An account's client salt seed and key parameters as the server hands them out (a decoy for an unknown email). */
export type RemoteKeyParams = ClientKeyParamsQuery['clientKeyParams'];
/** A passkey of the account, as the server lists it. */
export type PasskeyInfo = Omit<PasskeyFieldsFragment, '__typename'>;
export type PasskeyLoginResult = LoginWithPasskeyMutation['loginWithPasskey'];

/** The server's answer to an upload: it landed, or a newer state (null: none) was there first. */
export type UploadOutcome<Stored = RemoteWalletState> =
  | { kind: 'success'; walletState: Stored }
  | { kind: 'conflict'; latest: RemoteWalletState | null };

/** The GraphQL endpoint for a server URL given with or without the /graphql path. */
export function graphqlEndpoint(serverUrl: string): URL {
  const url = new URL(serverUrl);
  if (!url.pathname.endsWith('/graphql')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/graphql`;
  return url;
}

/**
 * The server's operations over HTTP, typed by the generated documents, with
 * every failure turned into a WalletSyncError that carries the server's code.
 */
export class SyncServerApi {
  private readonly http: GraphQLClient;
  /** The device's live connection while it holds one (connect(), watch()): the sync's operations go over it. */
  private live: LiveConnection | null = null;

  constructor(
    endpoint: URL,
    private readonly authToken: () => string | null,
  ) {
    this.http = new GraphQLClient(endpoint.toString(), {
      headers: (): Record<string, string> => {
        const token = authToken();
        return token ? { authorization: `Bearer ${token}` } : {};
      },
    });
  }

  async clientKeyParams(email: string): Promise<RemoteKeyParams> {
    const { clientSaltSeed, algorithm, n, r, p } = (await this.send(ClientKeyParamsDocument, { email })).clientKeyParams;
    return { clientSaltSeed, algorithm, n, r, p };
  }

  async register(input: RegisterInput): Promise<{ verified: boolean }> {
    return (await this.send(RegisterDocument, { input })).register;
  }

  async login(input: LoginInput): Promise<{ token: string; expiresAt: string }> {
    return (await this.send(LoginDocument, { input })).login;
  }

  /** EmailVerify: a fresh code for the newest pending registration of `email`; the server answers the same for every email. */
  async resendVerificationEmail(email: string): Promise<void> {
    await this.send(ResendVerificationEmailDocument, { email });
  }

  async logout(): Promise<void> {
    await this.send(LogoutDocument, {});
  }

  async walletState(): Promise<RemoteWalletState | null> {
    return (await this.send(WalletStateDocument, {})).walletState;
  }

  /** Headers with a sequence greater than `sinceSequence`, oldest first, at most `limit` (1 to HISTORY_PAGE). */
  async walletHistory(sinceSequence: number, limit: number): Promise<WalletStateHeader[]> {
    return (await this.send(WalletHistoryDocument, { sinceSequence, limit })).walletHistory;
  }

  /** An earlier (or the current) state, null once the server no longer keeps its content. */
  async walletVersion(sequence: number): Promise<RemoteWalletState | null> {
    return (await this.send(WalletVersionDocument, { sequence })).walletVersion;
  }

  /** The account's security log, newest first. */
  async accountActivity(before: string | null, limit: number): Promise<AccountEvent[]> {
    return (await this.send(AccountActivityDocument, { before, limit })).accountActivity;
  }

  async updateWalletState(input: WalletStateInput): Promise<UploadOutcome> {
    const result = (await this.send(UpdateWalletStateDocument, { input })).updateWalletState;
    return result.__typename === 'WalletStateSuccess'
      ? { kind: 'success', walletState: result.walletState }
      : { kind: 'conflict', latest: result.latest };
  }

  /** On success, the wallet now stored (null when the account has none). */
  async changePassword(input: ChangePasswordInput): Promise<UploadOutcome<RemoteWalletState | null>> {
    const result = (await this.send(ChangePasswordDocument, { input })).changePassword;
    return result.__typename === 'ChangePasswordSuccess'
      ? { kind: 'success', walletState: result.walletState }
      : { kind: 'conflict', latest: result.latest };
  }

  /** Requires the token; `password` is the login password, derived again from the root password. */
  async deleteAccount(password: string, secondFactor?: SecondFactor): Promise<void> {
    await this.send(DeleteAccountDocument, { password, secondFactor });
  }

  /** The second factor's operations: each requires the token, and those that change a factor the login password too. */
  async beginTotp(password: string): Promise<{ secret: string; uri: string }> {
    const { secret, uri } = (await this.send(BeginTotpDocument, { password })).beginTotp;
    return { secret, uri };
  }

  async confirmTotp(code: string): Promise<string[]> {
    return (await this.send(ConfirmTotpDocument, { code })).confirmTotp.codes;
  }

  async disableTotp(password: string): Promise<boolean> {
    return (await this.send(DisableTotpDocument, { password })).disableTotp;
  }

  async regenerateRecoveryCodes(password: string): Promise<string[]> {
    return (await this.send(RegenerateRecoveryCodesDocument, { password })).regenerateRecoveryCodes.codes;
  }

  async secondFactorStatus(): Promise<{ enabled: boolean; totp: boolean; recoveryCodesLeft: number }> {
    const { enabled, totp, recoveryCodesLeft } = (await this.send(SecondFactorStatusDocument, {})).me.secondFactor;
    return { enabled, totp, recoveryCodesLeft };
  }

  /** WebAuthn creation options (JSON) for a new passkey; needs the login password. */
  async beginPasskeyRegistration(password: string): Promise<string> {
    return (await this.send(BeginPasskeyRegistrationDocument, { password })).beginPasskeyRegistration;
  }

  async finishPasskeyRegistration(input: { response: string; name: string; wrappedKeys?: string }): Promise<PasskeyInfo> {
    return passkeyInfo((await this.send(FinishPasskeyRegistrationDocument, { input })).finishPasskeyRegistration);
  }

  async setPasskeyUnlock(id: string, wrappedKeys: string | null): Promise<PasskeyInfo> {
    return passkeyInfo((await this.send(SetPasskeyUnlockDocument, { id, wrappedKeys })).setPasskeyUnlock);
  }

  async passkeys(): Promise<PasskeyInfo[]> {
    return (await this.send(PasskeysDocument, {})).me.secondFactor.passkeys.map(passkeyInfo);
  }

  async passkeySignInOptions(): Promise<string> {
    return (await this.send(PasskeySignInOptionsDocument, {})).passkeySignInOptions;
  }

  async loginWithPasskey(input: { assertion: string; deviceId: string }): Promise<PasskeyLoginResult> {
    return (await this.send(LoginWithPasskeyDocument, { input })).loginWithPasskey;
  }

  /** From now on the sync's reads and writes go over `connection` while it is up (null: HTTP only). */
  useLiveConnection(connection: LiveConnection | null): void {
    this.live = connection;
  }

  private maxWalletBytesAnswer: Promise<number> | null = null;

  /** serverInfo.maxWalletBytes, asked once per client (a failed ask is asked again): what an upload must fit in. */
  maxWalletBytes(): Promise<number> {
    this.maxWalletBytesAnswer ??= this.send(ServerInfoDocument, {}).then(
      ({ serverInfo }) => serverInfo.maxWalletBytes,
      (error: unknown) => {
        this.maxWalletBytesAnswer = null;
        throw error;
      },
    );
    return this.maxWalletBytesAnswer;
  }

  private async send<R, V extends Variables>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> {
    const token = this.authToken();
    const overSocket = token && OVER_LIVE_CONNECTION.has(document) ? this.live?.execute(document, variables, token) : null;
    if (overSocket) {
      try {
        return await overSocket;
      } catch (error) {
        // Dropped mid-operation: each of these is safe to send again. A read is a read, and an upload that did land is
        // answered WalletStateSuccess when the same state comes again (PROTOCOL.md, "Wallet updates").
        if (!(error instanceof LiveConnectionLost)) throw error;
      }
    }
    try {
      // RequestOptions makes `variables` optional or required through a conditional type that a generic V cannot resolve.
      return await this.http.request<R, V>({ document, variables } as unknown as RequestOptions<V, R>);
    } catch (error) {
      throw toWalletSyncError(error);
    }
  }
}

/**
 * The operations a device's sync, history and restore send often, which go
 * over its live connection while it holds one: each is safe to send again over
 * HTTP when the connection drops mid-way. The rest (sign-in, password change,
 * the second factor, deleteAccount) always go over HTTP: those that take no
 * token must, and those that end the session must not race its socket.
 */
const OVER_LIVE_CONNECTION: ReadonlySet<unknown> = new Set([
  WalletStateDocument,
  UpdateWalletStateDocument,
  WalletHistoryDocument,
  WalletVersionDocument,
  AccountActivityDocument,
]);

/**
 * graphql-request's ClientError message embeds the whole request, passwords
 * included, so it is never passed on (not even as `cause`): only the server's
 * message and code are.
 */
function toWalletSyncError(error: unknown): WalletSyncError {
  if (error instanceof ClientError) {
    if (error.response.errors?.length) return fromGraphQLErrors(error.response.errors as ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>);
    return new WalletSyncError(ClientErrorCode.Network, `The server answered HTTP ${error.response.status} without a GraphQL result`);
  }
  const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
  return new WalletSyncError(ClientErrorCode.Network, `Cannot reach the wallet sync server: ${reason}`, { cause: error });
}

const passkeyInfo = ({ id, name, createdAt, lastUsedAt, unlock }: PasskeyFieldsFragment): PasskeyInfo => ({ id, name, createdAt, lastUsedAt, unlock });
