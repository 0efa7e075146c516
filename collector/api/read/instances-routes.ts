import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { INSTANCE_STATUSES, type CheckState, type StoredInstance, type Transition } from '../../store/store.ts';
import { HttpError } from '../http-error.ts';
import type { ReadContext } from './read-context.ts';
import { cursorParam, filterValue, iso, limitParam, parseQuery, storeRead, timeParam, uidParam } from './read-query.ts';

const ListQuery = z.strictObject({
  namespace: filterValue.optional(),
  app: filterValue.optional(),
  tenant: filterValue.optional(),
  node: filterValue.optional(),
  status: z.enum(INSTANCE_STATUSES).optional(),
  limit: limitParam.optional(),
  cursor: cursorParam.optional(),
});

const TimelineQuery = z.strictObject({ since: timeParam.optional(), limit: limitParam.optional() });

/** An instance as the API shows it: identity, where it runs, its status, and times as RFC 3339. */
export function instanceView(i: StoredInstance) {
  return {
    podUid: i.podUid,
    namespace: i.namespace,
    pod: i.pod,
    node: i.node,
    app: i.app,
    tenant: i.tenant,
    podIp: i.podIp,
    status: i.status,
    statusSince: iso(i.statusSince),
    firstSeen: iso(i.firstSeen),
    lastSeen: iso(i.lastSeen),
    lastSentAt: iso(i.lastSentAt),
    intervalMs: i.intervalMs,
  };
}

const checkView = (c: CheckState) => ({ id: c.checkId, kind: c.kind, status: c.status, code: c.code, message: c.message, since: iso(c.since) });
const transitionView = (t: Transition) => ({ at: iso(t.at), check: t.checkId, from: t.from, to: t.to, code: t.code });

/**
 * `GET /api/v1/instances` (filters, cursor pages ordered by pod uid), `/api/v1/instances/{uid}` (identity, current
 * checks, agent state, and what this replica's diagnosis holds: silence, open events) and `/{uid}/timeline`
 * (status transitions of the instance and its checks, newest first).
 */
export function instancesRoutes(app: FastifyInstance, ctx: ReadContext): void {
  const viewer = ctx.operatorAuth.require('viewer');
  const timed = ctx.metrics.timed.bind(ctx.metrics);

  app.get('/api/v1/instances', { onRequest: viewer }, async (req) => {
    const q = parseQuery(ListQuery, req.query);
    const page = await storeRead(timed('list_instances', ctx.store.listInstances(q)));
    return { items: page.items.map(instanceView), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  });

  app.get('/api/v1/instances/:uid', { onRequest: viewer }, async (req) => {
    const { uid } = parseQuery(uidParam, req.params, 'path');
    const inst = await timed('get_instance', ctx.store.getInstance(uid));
    if (!inst) throw notFound(uid);
    const checks = await timed('list_checks', ctx.store.listChecks(inst.podUid));
    const d = ctx.diagnosis.instance(inst.podUid);
    const open = ctx.diagnosis.openEvents().filter((e) => e.data.instances?.includes(inst.podUid));
    return {
      ...instanceView(inst),
      bootId: inst.bootId,
      lastSeq: inst.lastSeq,
      dropped: inst.dropped,
      agent: inst.agent,
      checks: checks.map(checkView),
      diagnosis: d
        ? { status: d.status, lastHeardAt: iso(d.lastHeardAt), silentSince: iso(d.silentSince), retiredAt: iso(d.retiredAt) }
        : null,
      openEvents: open.map((e) => ({ type: e.type, status: e.status, severity: e.severity, fingerprint: e.fingerprint, summary: e.data.summary })),
    };
  });

  app.get('/api/v1/instances/:uid/timeline', { onRequest: viewer }, async (req) => {
    const { uid } = parseQuery(uidParam, req.params, 'path');
    const q = parseQuery(TimelineQuery, req.query);
    const inst = await timed('get_instance', ctx.store.getInstance(uid));
    if (!inst) throw notFound(uid);
    const items = await timed('list_transitions', ctx.store.listTransitions(inst.podUid, { ...(q.since !== undefined ? { since: q.since } : {}), limit: q.limit ?? 100 }));
    return { podUid: inst.podUid, items: items.map(transitionView) };
  });
}

const notFound = (uid: string) => new HttpError(404, 'PODPULSE_ERR_PROTOCOL', 'not_found', `no instance with pod uid ${uid}`);
