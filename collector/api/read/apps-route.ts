import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { INSTANCE_STATUSES, type InstanceStatus } from '../../store/store.ts';
import type { ReadContext } from './read-context.ts';
import { filterValue, parseQuery } from './read-query.ts';

const AppsQuery = z.strictObject({ namespace: filterValue.optional(), tenant: filterValue.optional() });

/** `GET /api/v1/apps`: per app, how many instances are in each status (every status listed, zeros included). */
export function appsRoute(app: FastifyInstance, ctx: ReadContext): void {
  app.get('/api/v1/apps', { onRequest: ctx.operatorAuth.require('viewer') }, async (req) => {
    const q = parseQuery(AppsQuery, req.query);
    const rows = await ctx.metrics.timed('count_instances', ctx.store.countInstances(q));
    const byApp = new Map<string, Record<InstanceStatus, number>>();
    for (const r of rows) {
      let counts = byApp.get(r.app);
      if (!counts) byApp.set(r.app, (counts = Object.fromEntries(INSTANCE_STATUSES.map((s) => [s, 0])) as Record<InstanceStatus, number>));
      counts[r.status] = (counts[r.status] ?? 0) + r.count;
    }
    const items = [...byApp].map(([name, byStatus]) => ({ app: name, instances: Object.values(byStatus).reduce((a, b) => a + b, 0), byStatus }));
    return { items };
  });
}
