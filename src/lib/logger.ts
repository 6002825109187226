import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Structured JSON logs. Errors are reduced to type, message, code and stack:
 * a TypeORM QueryFailedError also carries the query's parameters, which hold
 * password hashes, token hashes, wallets and hmacs that must never reach a log.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'wallet-sync' },
      serializers: { err: serializeError },
      // Defence in depth only (nothing logs these fields); fixed paths, as wildcards cost ~3 % of read throughput.
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'password', 'token'], censor: '[redacted]' },
    },
    destination,
  );
}

export function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
  const code = (error as { code?: unknown }).code ?? (error as { driverError?: { code?: unknown } }).driverError?.code;
  return { type: error.name, message: error.message, ...(code === undefined ? {} : { code }), stack: error.stack };
}
