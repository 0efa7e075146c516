import type { FastifyInstance } from 'fastify';
import { parseDuration } from '../../../src/units.ts';
import { HttpError } from '../../api/http-error.ts';
import type { OperatorAuth } from '../../auth/operator-auth.ts';
import type { Store } from '../../store/store.ts';
import type { CommandTarget, InstanceRef } from './command-records.ts';
import type { CommandQueue } from './command-queue.ts';
import { CommandRequest } from './command-request.ts';
import { paramViolations, unknownTemplate, type CollectorCommandTemplate } from './command-templates.ts';
import { parseRequestBody } from './parse-request-body.ts';
import { selectInstances } from './select-instances.ts';

export interface CommandsRouteOptions {
  queue: CommandQueue;
  store: Pick<Store, 'getInstance' | 'listInstances'>;
  operatorAuth: OperatorAuth;
  templates: ReadonlyMap<string, CollectorCommandTemplate>;
  /** The largest maxFanOut a request may give, and the longest ttl. */
  maxFanOut: number;
  ttlMs: number;
  /**
   * Templates an instance's effective config adds (config center `commandTemplates`). A template not in the
   * collector's own list may still be requested when every targeted instance's effective config declares it.
   */
  instanceTemplates?: (i: InstanceRef) => readonly CollectorCommandTemplate[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `POST /api/v1/commands` (role operator) validates template, params and target, then queues one command per
 * instance; anything wrong refuses the whole request with 400 and nothing is queued. `GET /api/v1/commands/{id}`
 * (role operator: outputs may hold what a viewer should not read) shows every instance's state and result.
 */
export function commandsRoutes(app: FastifyInstance, o: CommandsRouteOptions): void {
  app.get('/api/v1/commands/templates', { onRequest: o.operatorAuth.require('operator') }, () => ({
    items: [...o.templates.values()].map((t) => ({ name: t.name, description: t.description, params: t.params })),
  }));

  app.post('/api/v1/commands', { onRequest: o.operatorAuth.require('operator'), config: { auditAction: 'command.create' } }, async (req, reply) => {
    req.audit = {};
    const body = parseRequestBody(req, CommandRequest, 'command request', 'PODPULSE_ERR_COMMAND_REJECTED');
    req.audit.details = { template: body.template, params: body.params, target: body.target };
    const reject = (status: 400 | 404, violations: { path: string; message: string }[]) =>
      new HttpError(status, status === 404 ? 'PODPULSE_ERR_NOT_FOUND' : 'PODPULSE_ERR_COMMAND_REJECTED', status === 404 ? 'not_found' : 'bad_request', `command refused: ${violations.map((v) => `${v.path}: ${v.message}`).join('; ')}`, { violations });

    const global = o.templates.get(body.template);
    if (global) {
      const bad = paramViolations(global, body.params);
      if (bad.length > 0) throw reject(400, bad);
    } else if (!o.instanceTemplates) throw reject(400, [unknownTemplate(o.templates, body.template)!]);
    const t = body.target;
    if (t.maxFanOut !== undefined && t.maxFanOut > o.maxFanOut) throw reject(400, [{ path: 'target.maxFanOut', message: `must be at most ${o.maxFanOut} (commands.maxFanOut)` }]);
    let ttlMs = o.ttlMs;
    if (body.ttl !== undefined) {
      ttlMs = parseDuration(body.ttl)!;
      if (ttlMs < 1000 || ttlMs > o.ttlMs) throw reject(400, [{ path: 'ttl', message: `must be between 1s and the collector's commands.ttl (${o.ttlMs / 1000}s)` }]);
    }
    const target: CommandTarget = t.podUid !== undefined ? { podUid: t.podUid.toLowerCase() } : { selector: t.selector!, maxFanOut: t.maxFanOut! };
    const sel = await selectInstances(o.store, target);
    if (!sel.ok) throw reject(sel.status, sel.violations);
    if (!global) {
      for (const i of sel.instances) {
        const own = o.instanceTemplates!(i).find((x) => x.name === body.template);
        if (!own) throw reject(400, [{ ...unknownTemplate(o.templates, body.template)!, message: `${unknownTemplate(o.templates, body.template)!.message}; nor does the effective config of ${i.namespace}/${i.pod}` }]);
        const bad = paramViolations(own, body.params);
        if (bad.length > 0) throw reject(400, bad.map((v) => ({ ...v, message: `${v.message} (template of ${i.namespace}/${i.pod})` })));
      }
    }

    const rec = await o.queue.enqueue({ template: body.template, params: body.params, target, instances: sel.instances, requestedBy: req.operator!, ttlMs });
    req.audit.commandId = rec.id;
    req.audit.instances = sel.instances.map((i) => i.podUid);
    return reply.code(201).header('location', `/api/v1/commands/${rec.id}`).send(rec);
  });

  app.get<{ Params: { id: string } }>('/api/v1/commands/:id', { onRequest: o.operatorAuth.require('operator') }, async (req) => {
    if (!UUID.test(req.params.id)) throw new HttpError(400, 'PODPULSE_ERR_PROTOCOL', 'bad_request', 'command id must be a uuid', { violations: [{ path: 'id', message: 'must be a uuid' }] });
    const view = await o.queue.get(req.params.id.toLowerCase());
    if (!view) throw new HttpError(404, 'PODPULSE_ERR_NOT_FOUND', 'not_found', `no command ${req.params.id}`);
    return view;
  });
}
