import type { FastifyReply } from 'fastify';
import type { ErrorCode, Violation } from '../../src/errors.ts';

/** Why a request was refused, as a bounded label for the rejections metric (never anything per pod). */
export type RejectReason =
  | 'bad_request' | 'too_large' | 'unsupported_media_type' | 'unauthenticated' | 'forbidden' | 'overloaded' | 'unavailable' | 'store_error' | 'not_found' | 'internal';

/** An HTTP error the API answers as `{error: {code, message, violations}}`. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: ErrorCode;
  readonly violations: readonly Violation[];
  readonly reason: RejectReason;
  readonly headers: Record<string, string>;

  constructor(statusCode: number, code: ErrorCode, reason: RejectReason, message: string, opts: { violations?: readonly Violation[]; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.reason = reason;
    this.violations = opts.violations ?? [];
    this.headers = opts.headers ?? {};
  }
}

/** Sends the API's error body. */
export function sendError(reply: FastifyReply, e: HttpError): FastifyReply {
  for (const [k, v] of Object.entries(e.headers)) void reply.header(k, v);
  return reply.code(e.statusCode).type('application/json').send({ error: { code: e.code, message: e.message, violations: e.violations } });
}
