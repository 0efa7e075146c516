import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { DiagnosisEvent } from '../../../src/protocol/index.ts';
import type { StoredEvent } from '../../store/store.ts';
import { HttpError } from '../http-error.ts';
import type { ReadContext } from './read-context.ts';
import { cursorParam, filterValue, iso, limitParam, parseQuery, storeRead } from './read-query.ts';

const EventsQuery = z.strictObject({
  status: z.enum(['pending', 'firing', 'resolved']).optional(),
  app: filterValue.optional(),
  /** `dependency-failing` or `io.podpulse.dependency-failing`. */
  type: z.string().regex(/^(io\.podpulse\.)?[a-z0-9]+(?:[.-][a-z0-9]+)*$/, 'must be an event type such as dependency-failing').optional(),
  fingerprint: z.string().regex(/^[a-f0-9]{16,64}$/, 'must be 16-64 lowercase hex digits').optional(),
  limit: limitParam.optional(),
  cursor: cursorParam.optional(),
});

const fullType = (t: string): string => (t.startsWith('io.podpulse.') ? t : `io.podpulse.${t}`);

const summaryOf = (body: unknown): string | null => {
  const s = (body as { data?: { summary?: unknown } } | null)?.data?.summary;
  return typeof s === 'string' ? s : null;
};

function storedView(e: StoredEvent) {
  return {
    id: e.id, fingerprint: e.fingerprint, type: e.type, status: e.status, severity: e.severity, app: e.app, tenant: e.tenant, subject: e.subject,
    summary: summaryOf(e.body), createdAt: iso(e.createdAt), updatedAt: iso(e.updatedAt), resolvedAt: iso(e.resolvedAt), event: e.body,
  };
}

function pendingView(e: DiagnosisEvent) {
  return {
    id: null, fingerprint: e.fingerprint, type: e.type, status: e.status, severity: e.severity, app: e.app ?? null, tenant: e.tenant ?? null,
    subject: e.subject ?? null, summary: e.data.summary, createdAt: null, updatedAt: e.time, resolvedAt: null, event: e,
  };
}

/**
 * `GET /api/v1/events`: one item per problem occurrence (firing, then resolved), newest update first, with cursor
 * pages. `status=pending` lists the problems still inside their `for` duration: they were never announced, so
 * they come from this replica's diagnosis, not the store, in one page.
 */
export function eventsRoute(app: FastifyInstance, ctx: ReadContext): void {
  app.get('/api/v1/events', { onRequest: ctx.operatorAuth.require('viewer') }, async (req) => {
    const q = parseQuery(EventsQuery, req.query);
    const type = q.type === undefined ? undefined : fullType(q.type);
    if (q.status === 'pending') {
      if (q.cursor !== undefined) throw new HttpError(400, 'PODPULSE_ERR_PROTOCOL', 'bad_request', 'invalid query parameter: cursor', { violations: [{ path: 'cursor', message: 'pending events come in one page' }] });
      const items = ctx.diagnosis
        .openEvents()
        .filter((e) => e.status === 'pending' && (q.app === undefined || e.app === q.app) && (type === undefined || e.type === type) && (q.fingerprint === undefined || e.fingerprint === q.fingerprint))
        .slice(0, q.limit ?? 100);
      return { items: items.map(pendingView) };
    }
    const page = await storeRead(ctx.metrics.timed('list_events', ctx.store.listEvents({ ...q, ...(type !== undefined ? { type } : {}) })));
    return { items: page.items.map(storedView), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  });
}
