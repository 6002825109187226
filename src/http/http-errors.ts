import type { FastifyError, FastifyReply } from 'fastify';
import { ErrorCode } from '../errors';

/**
 * The one shape of an error answered outside GraphQL execution (a refused body,
 * an unknown route, a refused metrics scrape): the same `errors` array a GraphQL
 * answer carries, so a client reads every failure the same way.
 */
export function sendHttpError(reply: FastifyReply, status: number, code: ErrorCode, message: string): FastifyReply {
  return reply.code(status).send({ errors: [{ message, extensions: { code } }] });
}

/** Fastify's own errors (body parsing and limits) as a status, a code and a message safe to show. */
export function describeHttpError(error: FastifyError, bodyLimit: number): { status: number; code: ErrorCode; message: string } {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status, code: ErrorCode.PayloadTooLarge, message: `The request body is larger than the ${bodyLimit} bytes this server accepts` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status, code: ErrorCode.BadRequest, message: 'Unsupported content type: send the request as application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status, code: ErrorCode.BadRequest, message: 'The JSON body is empty' };
    default:
      if (status === 500) return { status, code: ErrorCode.InternalServerError, message: 'Internal server error' };
      if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
        return { status, code: ErrorCode.BadRequest, message: 'The body is not valid JSON' };
      }
      return { status, code: ErrorCode.BadRequest, message: error.message };
  }
}
