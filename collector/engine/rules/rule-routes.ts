import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../../src/errors.ts';
import { parseJson } from '../../../src/protocol/parse.ts';
import { HttpError } from '../../api/http-error.ts';
import { isJsonContentType } from '../../api/read-json-body.ts';
import type { CollectorContext } from '../../start-collector.ts';
import type { RuleRegistry } from './rule-registry.ts';

const invalid = (message: string, violations: ValidationError['violations']): HttpError =>
  new HttpError(400, 'PODPULSE_ERR_RULE_INVALID', 'bad_request', message, { violations });

/**
 * The rules API: `GET /api/v1/rules` and `GET /api/v1/rules/{name}` (viewer), `PUT` and `DELETE
 * /api/v1/rules/{name}` (admin). A PUT body is a rule document in the DSL (`{ "Name": {...} }` or the bare body),
 * with or without CEL; a bad rule is answered 400 with each violation's path, and nothing changes. The registry
 * comes from `registryOf` because it is opened on the collector's store after the routes are registered; until
 * then the API answers 503.
 */
export function ruleRoutes(registryOf: () => RuleRegistry | undefined): (app: FastifyInstance, ctx: CollectorContext) => void {
  const ready = (): RuleRegistry => {
    const r = registryOf();
    if (!r) throw new HttpError(503, 'PODPULSE_ERR_OVERLOADED', 'unavailable', 'the rule registry is still loading; retry shortly', { headers: { 'retry-after': '1' } });
    return r;
  };
  return (app, ctx) => {
    const viewer = { onRequest: ctx.operatorAuth.require('viewer') };
    const admin = { onRequest: ctx.operatorAuth.require('admin') };

    app.get('/api/v1/rules', viewer, () => ({ items: ready().list() }));

    app.get<{ Params: { name: string } }>('/api/v1/rules/:name', viewer, (req) => {
      const r = ready().get(req.params.name);
      if (!r) throw new HttpError(404, 'PODPULSE_ERR_NOT_FOUND', 'not_found', `no rule ${req.params.name}`);
      return r;
    });

    app.put<{ Params: { name: string } }>('/api/v1/rules/:name', admin, async (req) => {
      const name = req.params.name;
      req.audit = { action: 'rule.put', details: { rule: name } };
      if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
        if (!isJsonContentType(req.headers['content-type'])) throw new HttpError(415, 'PODPULSE_ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported_media_type', 'expected Content-Type application/json');
        throw invalid('invalid rule: the body is empty', [{ path: '', message: 'the body is empty' }]);
      }
      const json = parseJson(req.body.toString('utf8'), 'rule');
      if (!json.ok) throw invalid('invalid rule: not JSON', json.error.violations);
      try {
        return await ready().put(name, json.value);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        throw invalid(`invalid rule ${name}: ${err.violations.slice(0, 3).map((v) => (v.path ? `${v.path}: ${v.message}` : v.message)).join('; ')}`, err.violations);
      }
    });

    app.delete<{ Params: { name: string } }>('/api/v1/rules/:name', admin, async (req, reply) => {
      req.audit = { action: 'rule.delete', details: { rule: req.params.name } };
      const r = await ready().delete(req.params.name);
      if (r === 'absent') throw new HttpError(404, 'PODPULSE_ERR_NOT_FOUND', 'not_found', `no rule ${req.params.name}`);
      if (r === 'configmap') throw new HttpError(409, 'PODPULSE_ERR_CONFLICT', 'bad_request', `rule ${req.params.name} comes from the rules ConfigMap; remove it there`);
      return reply.code(204).send();
    });
  };
}
