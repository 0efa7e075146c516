import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ErrorCode } from '../../../src/errors.ts';
import { parseJson, parseWith } from '../../../src/protocol/parse.ts';
import { HttpError } from '../../api/http-error.ts';
import { isJsonContentType } from '../../api/read-json-body.ts';

/** The request's JSON body validated by `schema`, or a 400 (415 without a JSON content type) naming each violation. */
export function parseRequestBody<S extends z.core.$ZodType>(req: FastifyRequest, schema: S, what: string, code: ErrorCode = 'PODPULSE_ERR_PROTOCOL'): z.output<S> {
  if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
    if (!isJsonContentType(req.headers['content-type'])) throw new HttpError(415, 'PODPULSE_ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported_media_type', 'expected Content-Type application/json');
    throw new HttpError(400, code, 'bad_request', `invalid ${what}`, { violations: [{ path: '', message: 'the body is empty' }] });
  }
  const json = parseJson(req.body.toString('utf8'), what);
  if (!json.ok) throw new HttpError(400, code, 'bad_request', json.error.message.split('\n')[0]!, { violations: json.error.violations });
  const r = parseWith(schema, json.value, { what, code });
  if (!r.ok) throw new HttpError(400, code, 'bad_request', `invalid ${what}`, { violations: r.error.violations });
  return r.value;
}
