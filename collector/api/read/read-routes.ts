import type { FastifyInstance } from 'fastify';
import { appsRoute } from './apps-route.ts';
import { eventsRoute } from './events-route.ts';
import { instancesRoutes } from './instances-routes.ts';
import type { ReadContext } from './read-context.ts';
import { slaRoute } from './sla-route.ts';

/** The operator read API (role viewer): instances, apps, SLA, events. */
export function readRoutes(app: FastifyInstance, ctx: ReadContext): void {
  instancesRoutes(app, ctx);
  appsRoute(app, ctx);
  slaRoute(app, ctx);
  eventsRoute(app, ctx);
}
