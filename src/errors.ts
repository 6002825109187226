import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ArgumentValidationError } from 'type-graphql';
import type { ValidationError } from 'class-validator';

/**
 * The domain errors and their PROTOCOL.md codes. They are declared here once and
 * translated once, in formatError: anything else becomes INTERNAL_SERVER_ERROR
 * for the client and a log line with the cause for the operator.
 */

export const ErrorCode = {
  BadUserInput: 'BAD_USER_INPUT',
  Unauthenticated: 'UNAUTHENTICATED',
  AccountNotVerified: 'ACCOUNT_NOT_VERIFIED',
  RegistrationClosed: 'REGISTRATION_CLOSED',
  EmailTaken: 'EMAIL_TAKEN',
  InvalidVerifyToken: 'INVALID_VERIFY_TOKEN',
  RateLimited: 'RATE_LIMITED',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  InternalServerError: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes that Apollo itself produces for documents and requests, passed through as they are. */
const APOLLO_CODES = new Set([
  'BAD_USER_INPUT',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

export class DomainError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extensions: Record<string, unknown> = {},
  ) {
    super(message, { extensions: { ...extensions, code } });
    this.name = 'DomainError';
  }
}

export const badUserInput = (field: string, problem: string) =>
  new DomainError(ErrorCode.BadUserInput, `${field}: ${problem}`, { fields: [field] });
export const unauthenticated = (message = 'Authentication required: send a valid token as "Authorization: Bearer <token>"') =>
  new DomainError(ErrorCode.Unauthenticated, message);
export const wrongCredentials = () => new DomainError(ErrorCode.Unauthenticated, 'Wrong email or password');
export const accountNotVerified = () =>
  new DomainError(ErrorCode.AccountNotVerified, 'This account is not verified yet: follow the link in the verification email');
export const registrationClosed = () => new DomainError(ErrorCode.RegistrationClosed, 'This server does not accept registrations for this email');
export const emailTaken = () => new DomainError(ErrorCode.EmailTaken, 'An account with this email already exists');
export const invalidVerifyToken = () =>
  new DomainError(ErrorCode.InvalidVerifyToken, 'This verification link is unknown, already used or expired: ask your app for a new one');
export const payloadTooLarge = (limit: number) =>
  new DomainError(ErrorCode.PayloadTooLarge, `encryptedWallet is larger than the ${limit} bytes this server accepts`, { maxWalletBytes: limit });
export const rateLimited = (retryAfterSeconds: number) =>
  new DomainError(ErrorCode.RateLimited, `Too many attempts: retry in ${retryAfterSeconds} s`, {
    retryAfterSeconds,
    // Apollo turns this into the HTTP status and header and strips it from the body.
    http: { status: 429, headers: new Map([['retry-after', String(retryAfterSeconds)]]) },
  });

/** "input.email: must be a bare email address" for each failed constraint, nested inputs included. */
export function describeValidationErrors(errors: readonly ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => `${field}: ${message}`);
    return [...own, ...describeValidationErrors(error.children ?? [], field)];
  });
}

export interface ErrorReporter {
  (error: unknown, formatted: GraphQLFormattedError): void;
}

/**
 * Apollo's formatError: keeps domain and Apollo errors, rewrites validation
 * failures into messages that name the field (and drops the rejected values, which
 * may be passwords), and masks everything else.
 */
export function createFormatError(report: ErrorReporter) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof ArgumentValidationError) {
      const messages = describeValidationErrors(original.extensions.validationErrors);
      return {
        message: messages.join('; ') || 'Invalid input',
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: ErrorCode.BadUserInput, fields: [...new Set(messages.map((m) => m.split(':')[0]))] },
      };
    }
    const code = formatted.extensions?.code;
    // Apollo's own request errors (parse, validation, variable coercion) are safe to show as they are.
    if (original instanceof DomainError || (typeof code === 'string' && APOLLO_CODES.has(code))) {
      return stripInternals(formatted);
    }
    report(original, formatted);
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.InternalServerError },
    };
  };
}

function stripInternals(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
  return { ...formatted, extensions };
}
