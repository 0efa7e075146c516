import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Violation } from '../../src/errors.ts';
import { parseJson, parseWith } from '../../src/protocol/parse.ts';
import { HttpError } from '../api/http-error.ts';
import { isJsonContentType } from '../api/read-json-body.ts';

/** The request's JSON body validated by `schema`; a 400 names each violation by its path, a 415 a non-JSON body. */
export function jsonBody<S extends z.ZodType>(req: FastifyRequest, schema: S, what: string): z.output<S> {
  if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
    if (!isJsonContentType(req.headers['content-type'])) throw new HttpError(415, 'PODPULSE_ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported_media_type', 'expected Content-Type application/json');
    throw badRequest(`invalid ${what}`, [{ path: '', message: 'the body is empty' }]);
  }
  const json = parseJson(req.body.toString('utf8'), what);
  if (!json.ok) throw badRequest(`invalid ${what}`, json.error.violations);
  const r = parseWith(schema, json.value, { what, byId: true, code: 'PODPULSE_ERR_CONFIG_INVALID' });
  if (!r.ok) throw badRequest(`invalid ${what}: ${r.error.violations.map((v) => (v.path ? `${v.path}: ${v.message}` : v.message)).slice(0, 3).join('; ')}`, r.error.violations);
  return r.value;
}

export function badRequest(message: string, violations: readonly Violation[] = []): HttpError {
  return new HttpError(400, 'PODPULSE_ERR_CONFIG_INVALID', 'bad_request', message, { violations });
}

export function notFound(message: string): HttpError {
  return new HttpError(404, 'PODPULSE_ERR_NOT_FOUND', 'not_found', message);
}

export function conflict(message: string): HttpError {
  return new HttpError(409, 'PODPULSE_ERR_CONFLICT', 'bad_request', message);
}

/** The operator's name for revision authors and rollout owners (`anonymous` under --insecure-no-auth). */
export function authorOf(req: FastifyRequest): string {
  return req.operator?.name ?? 'anonymous';
}
