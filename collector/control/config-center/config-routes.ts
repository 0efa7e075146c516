import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { OperatorAuth } from '../../auth/operator-auth.ts';
import { authorOf, badRequest, conflict, jsonBody, notFound } from '../json-body.ts';
import { ConfigWriteError, type ConfigCenter } from './config-center.ts';
import { ConfigDocument } from './config-document.ts';

const PutBody = z.strictObject({
  document: ConfigDocument,
  /** 0: the scope must have no document yet; n: it must be at version n (optimistic locking). */
  expectedVersion: z.number().int().min(0).optional(),
  message: z.string().max(512).optional(),
});
const DryRunBody = z.strictObject({ scope: z.string().min(1).max(300), document: ConfigDocument.nullable() });
const RestoreBody = z.strictObject({ message: z.string().max(512).optional() });
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The config center's operator API under `/api/v1/config` (docs/api.md). Reads need viewer, writes admin. */
export function configRoutes(app: FastifyInstance, opts: { center: ConfigCenter; operatorAuth: OperatorAuth }): void {
  const { center } = opts;
  const viewer = { onRequest: opts.operatorAuth.require('viewer') };
  const admin = { onRequest: opts.operatorAuth.require('admin') };
  const scopeOf = (req: FastifyRequest) => (req.params as { '*': string })['*'].replace(/\/+$/, '');

  app.get('/api/v1/config/scopes', viewer, async () => {
    await center.state.refreshIfChanged();
    return { items: center.listDocuments().map(documentView) };
  });

  app.get('/api/v1/config/scopes/*', viewer, async (req) => {
    await center.state.refreshIfChanged();
    const d = center.getDocument(scopeOf(req));
    if (!d) throw notFound(`no config document at ${scopeOf(req)}`);
    return documentView(d);
  });

  app.put('/api/v1/config/scopes/*', admin, async (req, reply) => {
    const scope = scopeOf(req);
    const body = jsonBody(req, PutBody, 'config document');
    req.audit = { action: 'config.set', details: { scope } };
    const rev = await guard(() => center.write(scope, body.document, authorOf(req), { ...opt('expectedVersion', body.expectedVersion), ...opt('message', body.message) }));
    req.audit.details = { scope: rev.scope, revision: rev.id };
    return reply.code(200).send({ revision: rev, document: documentView(center.getDocument(rev.scope)!) });
  });

  app.delete('/api/v1/config/scopes/*', admin, async (req) => {
    const scope = scopeOf(req);
    const q = req.query as { expectedVersion?: string };
    const expectedVersion = q.expectedVersion === undefined ? undefined : Number(q.expectedVersion);
    if (expectedVersion !== undefined && !Number.isInteger(expectedVersion)) throw badRequest('invalid expectedVersion', [{ path: 'expectedVersion', message: 'must be an integer' }]);
    req.audit = { action: 'config.delete', details: { scope } };
    const rev = await guard(() => center.write(scope, null, authorOf(req), opt('expectedVersion', expectedVersion)));
    req.audit.details = { scope, revision: rev.id };
    return { revision: rev };
  });

  app.get('/api/v1/config/revisions', viewer, async (req) => {
    const q = req.query as { scope?: string; before?: string; limit?: string };
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badRequest('invalid limit', [{ path: 'limit', message: 'must be an integer 1..1000' }]);
    const items = await center.history({ limit, ...opt('scope', q.scope), ...opt('before', q.before) });
    return items.length === limit ? { items, nextCursor: items[items.length - 1]!.id } : { items };
  });

  app.get('/api/v1/config/revisions/:id', viewer, async (req) => {
    const { id } = req.params as { id: string };
    const rev = await center.revision(id);
    if (!rev) throw notFound(`no config revision ${id}`);
    return rev;
  });

  for (const how of ['rollback', 'revert'] as const) {
    app.post(`/api/v1/config/revisions/:id/${how}`, admin, async (req, reply) => {
      const { id } = req.params as { id: string };
      const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? jsonBody(req, RestoreBody, `${how} request`) : {};
      req.audit = { action: `config.${how}`, details: { of: id } };
      const rev = await guard(() => center.restore(id, how, authorOf(req), body.message));
      req.audit.details = { of: id, scope: rev.scope, revision: rev.id };
      return reply.code(200).send({ revision: rev });
    });
  }

  app.get('/api/v1/config/effective/:podUid', viewer, async (req) => {
    const { podUid } = req.params as { podUid: string };
    if (!UUID.test(podUid)) throw badRequest('invalid pod uid', [{ path: 'podUid', message: 'must be a UUID' }]);
    await center.state.refreshIfChanged();
    const inst = await center.instance(podUid.toLowerCase());
    if (!inst) throw notFound(`no instance ${podUid}`);
    const e = center.effectiveFor(inst);
    return { instance: inst, revision: e.revision, scopes: e.scopes, releaseSource: e.releaseSource ?? null, violations: e.violations ?? [], config: e.config };
  });

  app.post('/api/v1/config/dry-run', viewer, async (req) => {
    const body = jsonBody(req, DryRunBody, 'dry-run request');
    await center.state.refreshIfChanged();
    return guard(() => center.dryRun(body.scope, body.document));
  });
}

function documentView(d: { id: string; version: number; createdAt: number; updatedAt: number; body: { revision: string; document: unknown } }) {
  return { scope: d.id, version: d.version, revision: d.body.revision, createdAt: new Date(d.createdAt).toISOString(), updatedAt: new Date(d.updatedAt).toISOString(), document: d.body.document };
}

/** Turns the config center's refusals into API errors. */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ConfigWriteError) {
      if (err.status === 400) throw badRequest(`${err.message}: ${err.violations.map((v) => `${v.path}: ${v.message}`).slice(0, 3).join('; ')}`, err.violations);
      if (err.status === 404) throw notFound(err.message);
      throw conflict(err.message);
    }
    throw err;
  }
}

function opt<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}
