import type { ApolloServerPlugin } from '@apollo/server';
import type { OperationDefinitionNode } from 'graphql';
import type { Logger } from 'pino';
import type { RequestContext } from '../../context';
import { ErrorCode } from '../../errors';
import type { Metrics } from '../../lib/metrics';

/**
 * One log line and one set of metrics per GraphQL request: the operation (the
 * root field, a label bounded by the schema rather than by what clients name
 * their operations), the outcome and error codes, the account id once known, the
 * duration. Never variables: they hold passwords, wallets and hmacs.
 */
export function observabilityPlugin(metrics: Metrics, logger: Logger): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      return {
        async willSendResponse({ operation, operationName, response }) {
          const body = response.body;
          const errors = body.kind === 'single' ? body.singleResult.errors ?? [] : [];
          const codes = errors.map((error) => String(error.extensions?.code ?? ErrorCode.InternalServerError));
          const field = rootField(operation);
          const outcome = codes.length > 0 ? 'error' : 'success';
          metrics.graphqlRequests.inc({ operation: field, outcome });
          for (const code of codes) metrics.errors.inc({ code });
          logger.info(
            {
              reqId: contextValue.requestId,
              operation: field,
              operationName: operationName?.slice(0, 64),
              accountId: contextValue.knownSession()?.accountId,
              outcome,
              ...(codes.length > 0 ? { errorCodes: [...new Set(codes)] } : {}),
              ms: Math.round((performance.now() - started) * 10) / 10,
            },
            'graphql request',
          );
        },
      };
    },
  };
}

function rootField(operation: OperationDefinitionNode | undefined): string {
  const first = operation?.selectionSet.selections.find((s) => s.kind === 'Field');
  return first && first.kind === 'Field' ? first.name.value : 'unknown';
}
