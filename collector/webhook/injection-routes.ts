import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../start-collector.ts';
import { HttpError } from '../api/http-error.ts';
import type { MissingReport } from './missing-report.ts';

// Each call lists every pod of the opted-in namespaces; a dashboard polling the route must not multiply that.
const REUSE_MS = 10_000;

/** GET /api/v1/injection/missing (viewer): pods in opted-in namespaces without the sidecar; also records the event. */
export function injectionRoutes(reportMissing: (() => Promise<MissingReport>) | undefined) {
  let last: { at: number; report: Promise<MissingReport> } | undefined;
  return (app: FastifyInstance, ctx: CollectorContext): void => {
    app.get('/api/v1/injection/missing', { onRequest: ctx.operatorAuth.require('viewer') }, async () => {
      if (!reportMissing) throw new HttpError(404, 'PODPULSE_ERR_NOT_FOUND', 'not_found', 'the missing-sidecar report is off: it runs with the webhook (webhook.enabled) against Kubernetes');
      const now = Date.now();
      if (!last || now - last.at > REUSE_MS) {
        const report = reportMissing();
        last = { at: now, report };
        report.catch(() => (last = undefined));
      }
      try {
        return await last.report;
      } catch (err) {
        ctx.log.warn({ err }, 'missing-sidecar report failed');
        throw new HttpError(503, 'PODPULSE_ERR_KUBE_API', 'unavailable', `cannot list pods from the Kubernetes API: ${(err as Error).message}`);
      }
    });
  };
}
