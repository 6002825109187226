import {
  execute,
  getOperationAST,
  GraphQLError,
  Kind,
  OperationTypeNode,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type OperationDefinitionNode,
} from 'graphql';
import type { RequestContext } from '../context';
import { ErrorCode } from '../errors';
import { badRequest } from '../graphql/format-error';
import type { ObserveOperation } from '../graphql/plugins/observability.plugin';

/**
 * Root fields that take no token (PROTOCOL.md, "Operations over the live
 * connection"): a connection belongs to one signed-in device, so these are
 * refused over it. Introspection too: over HTTP it is Apollo's to allow.
 */
const HTTP_ONLY_FIELDS: ReadonlySet<string> = new Set([
  'register',
  'login',
  'loginWithPasskey',
  'clientKeyParams',
  'clientSaltSeed',
  'passkeySignInOptions',
  'resendVerificationEmail',
  'serverInfo',
  '__schema',
  '__type',
]);

export interface SocketOperationsDeps {
  observe: ObserveOperation;
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
}

/** Formats GraphQLErrors; errors already formatted (a query's or mutation's, below) pass as they are. */
export type FormatErrors = (errors: ReadonlyArray<GraphQLError | GraphQLFormattedError>) => GraphQLFormattedError[];

/**
 * Queries and mutations over an authenticated graphql-ws connection, as its
 * session: the document was checked with the limits HTTP applies (onSubscribe);
 * graphql-js executes it on the same schema with the same context, and the
 * answer is shaped as Apollo shapes it over HTTP (variable errors are
 * BAD_USER_INPUT, every error goes through formatError), with its one log line
 * and metrics, labelled `websocket`. Apollo's HTTP pipeline (negotiation, the
 * document hash, plugin hooks) is what the socket saves.
 */
export function socketOperations(deps: SocketOperationsDeps) {
  const formatErrors: FormatErrors = (errors) =>
    errors.map((error) => (error instanceof GraphQLError ? deps.formatError(error.toJSON(), error) : error));

  return {
    formatErrors,

    /** graphql-ws's `execute`: whatever is not a subscription. */
    async execute(args: ExecutionArgs): Promise<ExecutionResult> {
      const started = performance.now();
      const context = args.contextValue as RequestContext;
      const operation = getOperationAST(args.document, args.operationName);
      const refused = refusal(operation);
      const result = refused ? { errors: [refused] } : asApolloAnswers(await execute(args));
      const errors = result.errors && formatErrors(result.errors);
      deps.observe({
        transport: 'websocket',
        requestId: context.requestId,
        operation,
        operationName: args.operationName ?? undefined,
        accountId: context.knownSession()?.accountId,
        codes: errorCodes(errors),
        ms: performance.now() - started,
      });
      return errors ? { ...result, errors: errors as unknown as GraphQLError[] } : result;
    },

    /** A document refused before execution (parse, validation, limits): one log line and the metrics, as HTTP counts it. */
    refusedDocument(requestId: string, operationName: string | null | undefined, accountId: number | undefined, errors: readonly GraphQLError[]) {
      deps.observe({ transport: 'websocket', requestId, operation: undefined, operationName: operationName ?? undefined, accountId, codes: errorCodes(errors.map((e) => e.toJSON())), ms: 0 });
    },
  };
}

function refusal(operation: OperationDefinitionNode | null | undefined): GraphQLError | undefined {
  const fields = operation?.selectionSet.selections.filter((s) => s.kind === Kind.FIELD) ?? [];
  const httpOnly = fields.find((field) => HTTP_ONLY_FIELDS.has(field.name.value));
  if (!httpOnly) return undefined;
  return badRequest(`${httpOnly.name.value} takes no token: send it over HTTP`);
}

/** graphql-js leaves variable coercion errors without a code; Apollo answers them BAD_USER_INPUT. */
function asApolloAnswers(result: ExecutionResult): ExecutionResult {
  if (!result.errors || result.data !== undefined) return result;
  return {
    ...result,
    errors: result.errors.map((error) =>
      error.extensions.code === undefined && isVariableError(error)
        ? new GraphQLError(error.message, { nodes: error.nodes, originalError: error, extensions: { ...error.extensions, code: ErrorCode.BadUserInput } })
        : error,
    ),
  };
}

function isVariableError(error: GraphQLError): boolean {
  return error.nodes?.length === 1 && error.nodes[0].kind === Kind.VARIABLE_DEFINITION;
}

function errorCodes(errors: readonly GraphQLFormattedError[] | undefined): string[] {
  return (errors ?? []).map((error) => String(error.extensions?.code ?? ErrorCode.InternalServerError));
}

export function isSubscription(document: DocumentNode, operationName: string | null | undefined): boolean {
  return getOperationAST(document, operationName)?.operation === OperationTypeNode.SUBSCRIPTION;
}

/** Subscriptions running on the connection: graphql-ws holds their streams (a query or mutation in flight holds null). */
export function heldSubscriptions(ctx: { subscriptions: Record<string, unknown> }): number {
  let held = 0;
  for (const id in ctx.subscriptions) if (ctx.subscriptions[id]) held += 1;
  return held;
}
