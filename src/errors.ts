/**
 * The error codes a client can see, and the domain errors that carry them.
 * A domain error is a plain Error with a stable code and the details the client
 * may read (retryAfterSeconds, maxWalletBytes, fields): it knows nothing of
 * GraphQL or HTTP, so services and lib/ depend on no transport. The edge
 * translates it once: graphql/format-error.ts for GraphQL answers, and
 * http/http-errors.ts for the plain HTTP ones. Anything that is not a domain
 * error becomes INTERNAL_SERVER_ERROR for the client and a log line for us.
 */

export const ErrorCode = {
  BadUserInput: 'BAD_USER_INPUT',
  Unauthenticated: 'UNAUTHENTICATED',
  AccountNotVerified: 'ACCOUNT_NOT_VERIFIED',
  RegistrationClosed: 'REGISTRATION_CLOSED',
  EmailTaken: 'EMAIL_TAKEN',
  RateLimited: 'RATE_LIMITED',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  /** The password was right; the account needs its second factor (details.methods). */
  SecondFactorRequired: 'SECOND_FACTOR_REQUIRED',
  /** A wrong, used or expired TOTP code, recovery code or WebAuthn assertion. */
  SecondFactorInvalid: 'SECOND_FACTOR_INVALID',
  InternalServerError: 'INTERNAL_SERVER_ERROR',
  /** A request the transport refuses before any operation runs (bad body, content type, over WebSocket). */
  BadRequest: 'BAD_REQUEST',
  NotFound: 'NOT_FOUND',
  /** The request did not arrive whole within REQUEST_TIMEOUT_MS (HTTP 408). */
  RequestTimeout: 'REQUEST_TIMEOUT',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes Apollo itself produces for documents and requests; they reach the client as Apollo wrote them. */
export const APOLLO_REQUEST_ERROR_CODES: ReadonlySet<string> = new Set([
  ErrorCode.BadUserInput,
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  ErrorCode.BadRequest,
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** What a client may read next to the code. */
export interface ErrorDetails {
  fields?: string[];
  retryAfterSeconds?: number;
  maxWalletBytes?: number;
  /** SECOND_FACTOR_REQUIRED: the methods the account has enabled. */
  methods?: string[];
  /** SECOND_FACTOR_REQUIRED with WEBAUTHN among the methods: the WebAuthn request options, as JSON. */
  webauthn?: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const badUserInput = (field: string, problem: string) => new DomainError(ErrorCode.BadUserInput, `${field}: ${problem}`, { fields: [field] });
export const unauthenticated = (message = 'Authentication required: send a valid token as "Authorization: Bearer <token>"') =>
  new DomainError(ErrorCode.Unauthenticated, message);
export const wrongCredentials = () => new DomainError(ErrorCode.Unauthenticated, 'Wrong email or password');
export const accountNotVerified = () =>
  new DomainError(ErrorCode.AccountNotVerified, 'This account is not verified yet: log in with the code from the verification email');
export const registrationClosed = () => new DomainError(ErrorCode.RegistrationClosed, 'This server does not accept registrations for this email');
export const emailTaken = () => new DomainError(ErrorCode.EmailTaken, 'An account with this email already exists');
export const payloadTooLarge = (limit: number) =>
  new DomainError(ErrorCode.PayloadTooLarge, `encryptedWallet is larger than the ${limit} bytes this server accepts`, { maxWalletBytes: limit });
export const rateLimited = (retryAfterSeconds: number) =>
  new DomainError(ErrorCode.RateLimited, `Too many attempts: retry in ${retryAfterSeconds} s`, { retryAfterSeconds });

export const secondFactorRequired = (methods: string[], webauthn?: string) =>
  new DomainError(ErrorCode.SecondFactorRequired, `This account needs its second factor: send secondFactor with one of ${methods.join(', ')}`, {
    methods,
    ...(webauthn === undefined ? {} : { webauthn }),
  });
export const secondFactorInvalid = () => new DomainError(ErrorCode.SecondFactorInvalid, 'The second factor is wrong, expired or already used');

export const isDomainError = (error: unknown, code?: ErrorCode): error is DomainError =>
  error instanceof DomainError && (code === undefined || error.code === code);
