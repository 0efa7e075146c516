import type { ServerResponse } from 'node:http';
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

/** The error body of the API, `{error: {code, message, violations}}`. */
function errorBody(e: HttpError): { error: { code: ErrorCode; message: string; violations: readonly Violation[] } } {
  return { error: { code: e.code, message: e.message, violations: e.violations } };
}

/** Sends the API's error body through fastify. */
export function sendError(reply: FastifyReply, e: HttpError): FastifyReply {
  for (const [k, v] of Object.entries(e.headers)) void reply.header(k, v);
  return reply.code(e.statusCode).type('application/json').send(errorBody(e));
}

/** Answers a node:http request with a JSON body, in one write, with the headers fastify would send. */
export function writeJson(res: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** Answers a node:http request with the API's error body and the error's headers. */
export function writeError(res: ServerResponse, e: HttpError): void {
  for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
  writeJson(res, e.statusCode, errorBody(e));
}

/** Maps any error a route or fastify raised to the API's error shape. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.statusCode === 413) return new HttpError(413, 'PODPULSE_ERR_PAYLOAD_TOO_LARGE', 'too_large', 'request body too large');
  if (e.statusCode === 415) return new HttpError(415, 'PODPULSE_ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported_media_type', 'expected Content-Type application/json');
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return new HttpError(e.statusCode, 'PODPULSE_ERR_PROTOCOL', 'bad_request', String(e.message ?? 'bad request').slice(0, 200));
  }
  return new HttpError(500, 'PODPULSE_ERR_INTERNAL', 'internal', 'internal error');
}
