import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SlaTotals } from '../../store/store.ts';
import type { ReadContext } from './read-context.ts';
import { filterValue, iso, parseQuery } from './read-query.ts';

const MINUTE = 60_000;
export const SLA_WINDOWS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;

const SlaQuery = z.strictObject({
  app: filterValue.optional(),
  namespace: filterValue.optional(),
  window: z.enum(Object.keys(SLA_WINDOWS) as [keyof typeof SLA_WINDOWS, ...(keyof typeof SLA_WINDOWS)[]]).default('24h'),
});

const round2 = (n: number): number => Math.round(n * 100) / 100;

/**
 * Availability of a set of instances over a window, in instance-time: the share of the time they existed that
 * heartbeats reported healthy. The rest is lost, by cause: degraded (a warn), failing (a fail), unknown (only
 * undecided checks, a daemon-only beat or a broken probe), and silent — time an instance existed that no
 * heartbeat covers.
 */
export function slaFigures(t: SlaTotals) {
  const covered = t.okSeconds + t.degradedSeconds + t.failingSeconds + t.unknownSeconds;
  const silent = Math.max(0, t.existedSeconds - covered);
  // Replayed history can cover time before the instance was first heard of: never count more than 100 %.
  const total = Math.max(t.existedSeconds, covered);
  const m = (s: number) => round2(s / 60);
  return {
    instances: t.instances,
    availabilityPercent: total > 0 ? Math.round((10_000 * t.okSeconds) / total) / 100 : null,
    instanceMinutes: m(total),
    okMinutes: m(t.okSeconds),
    lostMinutes: {
      total: m(total - t.okSeconds),
      degraded: m(t.degradedSeconds),
      failing: m(t.failingSeconds),
      silent: m(silent),
      unknown: m(t.unknownSeconds),
    },
  };
}

/** `GET /api/v1/sla?app=&namespace=&window=1h|24h|7d|30d`, from the per-app minute rollups and the instances' lifetimes. */
export function slaRoute(app: FastifyInstance, ctx: ReadContext): void {
  app.get('/api/v1/sla', { onRequest: ctx.operatorAuth.require('viewer') }, async (req) => {
    const q = parseQuery(SlaQuery, req.query);
    const to = Date.now();
    const from = Math.floor((to - SLA_WINDOWS[q.window]) / MINUTE) * MINUTE;
    const totals = await ctx.metrics.timed('sla_totals', ctx.store.slaTotals({ from, to, ...(q.app ? { app: q.app } : {}), ...(q.namespace ? { namespace: q.namespace } : {}) }));
    return { app: q.app ?? null, namespace: q.namespace ?? null, window: q.window, from: iso(from), to: iso(to), ...slaFigures(totals) };
  });
}
