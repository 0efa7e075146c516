import type { ServerResponse } from 'node:http';

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  500: 'InternalError',
};

/** A `Status` object as the apiserver sends for failures. */
export function statusObject(code: number, message: string, reason = REASONS[code] ?? 'Unknown', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...extra };
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

export function sendStatus(res: ServerResponse, code: number, message: string, reason?: string, extra?: Record<string, unknown>): void {
  sendJson(res, code, statusObject(code, message, reason, extra));
}

/** Thrown by handlers; the server turns it into a Status response. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string | undefined;
  constructor(code: number, message: string, reason?: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}
