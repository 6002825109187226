import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
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

/**
 * How much more of a refused body the server reads, and drops, before it
 * answers. Answering and closing while the client is still sending makes the
 * kernel reset the connection, and the client's next write fails (EPIPE,
 * ECONNRESET) before it reads the answer: an app then sees a network error and
 * retries the upload for ever (issue 25: 7 resets in 8 with 8 MB bodies). A
 * client that sends more than this is answered and cut off.
 */
export const REFUSED_BODY_READ_BYTES = 32 * 1024 * 1024;

/**
 * Reads and drops the rest of a body the server refused, then calls `answer`
 * once: when the body has ended (the client then reads the answer on a
 * connection with nothing left unread, so it closes cleanly), or when `bound`
 * more bytes have come. Nothing is answered to a client that went away
 * meanwhile; the request timeout bounds how long a slow one may take.
 */
export function discardRefusedBody(request: IncomingMessage, answer: () => void, bound = REFUSED_BODY_READ_BYTES): void {
  if (request.complete) return answer();
  let discarded = 0;
  const done = () => {
    request.off('data', onData);
    request.off('end', done);
    answer();
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > bound) done();
  };
  request.on('data', onData);
  request.on('end', done);
}

const CLOSE_AFTER_ANSWER_MS = 500;

/**
 * Errors Node's HTTP parser raises before a request reaches Fastify: a request
 * that did not arrive whole in time (408), oversized headers (431), anything
 * malformed (400). Answered in the same shape, then the connection is closed.
 * Returns what was answered (nothing when the peer had already gone).
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket, requestTimeoutMs: number): { status?: number; code?: ErrorCode } {
  if (error.code === 'ECONNRESET' || socket.destroyed) return {};
  const [status, code, message]: [number, ErrorCode, string] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, ErrorCode.RequestTimeout, `The request did not arrive whole within ${requestTimeoutMs} ms`]
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, ErrorCode.BadRequest, 'The request headers are too large']
        : [400, ErrorCode.BadRequest, 'Malformed HTTP request'];
  if (!socket.writable) {
    socket.destroy();
    return {};
  }
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  // end() waits for the answer to be flushed; a peer that does not read it is cut off anyway.
  setTimeout(() => socket.destroy(), CLOSE_AFTER_ANSWER_MS).unref();
  return { status, code };
}
