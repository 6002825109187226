import type { ApolloServerPlugin } from '@apollo/server';
import type { OperationDefinitionNode } from 'graphql';
import type { Logger } from 'pino';
import type { RequestContext } from '../../context';
import { ErrorCode } from '../../errors';
import type { Metrics, Transport } from '../../lib/metrics';

/** One GraphQL operation as it is logged and counted, whichever transport carried it. */
export interface OperationRecord {
  transport: Transport;
  requestId: string;
  operation: OperationDefinitionNode | null | undefined;
  operationName: string | undefined;
  accountId: number | undefined;
  /** The code of each error answered, in order; empty on success. */
  codes: string[];
  ms: number;
}

export type ObserveOperation = (record: OperationRecord) => void;

/**
 * One log line and one set of metrics per GraphQL operation: the transport,
 * the operation (the root field, a label bounded by the schema rather than by
 * what clients name their operations), the outcome and error codes, the account
 * id once known, the duration. Never variables: they hold passwords, wallets and hmacs.
 */
export function operationObserver(metrics: Metrics, logger: Logger): ObserveOperation {
  return ({ transport, requestId, operation, operationName, accountId, codes, ms }) => {
    const field = rootField(operation);
    const outcome = codes.length > 0 ? 'error' : 'success';
    metrics.graphqlRequests.inc({ operation: field, outcome, transport });
    for (const code of codes) metrics.errors.inc({ code });
    logger.info(
      {
        reqId: requestId,
        transport,
        operation: field,
        operationName: operationName?.slice(0, 64),
        accountId,
        outcome,
        ...(codes.length > 0 ? { errorCodes: [...new Set(codes)] } : {}),
        ms: Math.round(ms * 10) / 10,
      },
      'graphql request',
    );
  };
}

/** The HTTP side of operationObserver: Apollo's hooks around each request. */
export function observabilityPlugin(observe: ObserveOperation): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      return {
        async willSendResponse({ operation, operationName, response }) {
          const body = response.body;
          const errors = body.kind === 'single' ? body.singleResult.errors ?? [] : [];
          observe({
            transport: 'http',
            requestId: contextValue.requestId,
            operation,
            operationName: operationName ?? undefined,
            accountId: contextValue.knownSession()?.accountId,
            codes: errors.map((error) => String(error.extensions?.code ?? ErrorCode.InternalServerError)),
            ms: performance.now() - started,
          });
        },
      };
    },
  };
}

function rootField(operation: OperationDefinitionNode | null | undefined): string {
  const first = operation?.selectionSet.selections.find((s) => s.kind === 'Field');
  return first && first.kind === 'Field' ? first.name.value : 'unknown';
}
