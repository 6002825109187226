import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import type { ValidationError } from 'class-validator';
import { APOLLO_REQUEST_ERROR_CODES, DomainError, ErrorCode } from '../errors';

/**
 * The one translation of errors into GraphQL answers (over HTTP and WebSocket):
 * a domain error keeps its message and code and shows its details as
 * extensions; a failed input validation becomes BAD_USER_INPUT naming the
 * fields (never the rejected values, which may be passwords); Apollo's own
 * request errors pass as they are; anything else is masked.
 */

export interface ErrorReporter {
  (error: unknown, formatted: GraphQLFormattedError): void;
}

/** The error a resolver threw, beneath the GraphQLErrors that graphql-js wrapped it in. */
export function originalError(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

/** "input.email: must be a bare email address" for each failed constraint, nested inputs included. */
export function describeValidationErrors(errors: readonly ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => `${field}: ${message}`);
    return [...own, ...describeValidationErrors(error.children ?? [], field)];
  });
}

/** Apollo's formatError (also used by the WebSocket server). */
export function createFormatError(report: ErrorReporter) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = originalError(error);
    const { locations, path } = formatted;
    if (original instanceof DomainError) {
      return { message: original.message, locations, path, extensions: { ...original.details, code: original.code } };
    }
    if (original instanceof ArgumentValidationError) {
      const messages = describeValidationErrors(original.extensions.validationErrors);
      return {
        message: messages.join('; ') || 'Invalid input',
        locations,
        path,
        extensions: { code: ErrorCode.BadUserInput, fields: [...new Set(messages.map((m) => m.split(':')[0]))] },
      };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && APOLLO_REQUEST_ERROR_CODES.has(code)) {
      const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    report(original, formatted);
    return { message: 'Internal server error', locations, path, extensions: { code: ErrorCode.InternalServerError } };
  };
}

/** An error the transport answers itself, e.g. an operation sent where it is not served. */
export const badRequest = (message: string) => new GraphQLError(message, { extensions: { code: ErrorCode.BadRequest } });

/**
 * The HTTP side of a GraphQL answer: RATE_LIMITED is HTTP 429 with a
 * Retry-After header, so proxies and HTTP clients back off without reading the body.
 */
export function errorHttpStatusPlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  // One listener for every request: nothing is allocated per request for the errors that are rare.
  const listener = {
    async didEncounterErrors({ errors, response }: { errors: readonly GraphQLError[]; response: { http: { status?: number; headers: Map<string, string> } } }) {
      for (const error of errors) {
        const original = originalError(error);
        if (original instanceof DomainError && original.code === ErrorCode.RateLimited) {
          response.http.status = 429;
          response.http.headers.set('retry-after', String(original.details.retryAfterSeconds));
        }
      }
    },
  };
  return { requestDidStart: async () => listener };
}
