import { createServer } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../../src/log/logger.ts';
import type { Authenticator } from '../auth/agent-identity.ts';
import type { GroupCommitter } from '../ingest/group-committer.ts';
import type { Store } from '../store/store.ts';
import { HttpError, sendError, toHttpError } from './http-error.ts';
import { heartbeatsRoute, isHeartbeatsRequest, type AgentHints } from './heartbeats-route.ts';
import type { IngestMetrics } from './ingest-metrics.ts';
import { readJsonBody, type BodyLimits } from './read-json-body.ts';

export interface ServerOptions {
  log: Logger;
  store: Pick<Store, 'ready'>;
  committer: GroupCommitter;
  authenticator: Authenticator;
  metrics: IngestMetrics;
  limits: BodyLimits;
  hints?: AgentHints;
  retryAfterSeconds?: number;
  /** Route groups beyond ingest (read API, control plane, admission webhook), each registering its own routes. */
  routes?: readonly ((app: FastifyInstance) => void)[];
}

const REQUEST_TIMEOUT_MS = 30_000;
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * The collector's HTTP server: agent ingest plus health and metrics. Every body goes through readJsonBody (size
 * limits, gzip with an output ceiling, 415 for anything but JSON); every error leaves as `{error: {...}}`.
 * `POST /v1/heartbeats` is answered on node:http before fastify sees the request (heartbeats-route.ts); the rest
 * is fastify's.
 */
export function buildServer(opts: ServerOptions): FastifyInstance {
  const ingest = heartbeatsRoute(opts);
  const app = Fastify({
    serverFactory: (handler) => {
      const server = createServer((req, res) => (isHeartbeatsRequest(req) ? ingest.handle(req, res) : handler(req, res)));
      server.requestTimeout = REQUEST_TIMEOUT_MS;
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      return server;
    },
    // No logger for fastify: it would build a child logger (with redaction) per request, a measurable share of a
    // heartbeat's cost. Errors are logged by the error handler below; metrics count requests.
    logger: false,
    // Body size is enforced by readJsonBody (on the wire and after gzip); fastify's own check would only see the wire.
    bodyLimit: Math.max(opts.limits.bodyBytes, opts.limits.decompressedBytes) + 1,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    return503OnClosing: true,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req, _payload, done) => {
    readJsonBody(req.raw, opts.limits).then((b) => done(null, b), (err: Error) => done(err, undefined));
  });

  const log = opts.log.child({ component: 'api' });
  app.setErrorHandler((err, req, reply) => {
    const e = toHttpError(err);
    opts.metrics.rejections.inc({ reason: e.reason });
    if (e.reason === 'internal') log.error({ err, method: req.method, url: req.url.slice(0, 200) }, 'request failed');
    // After an oversized body the rest was never read: close instead of reusing the connection.
    if (e.statusCode === 413) void reply.header('connection', 'close');
    return sendError(reply, e);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, new HttpError(404, 'PODPULSE_ERR_PROTOCOL', 'not_found', `no route ${req.method} ${req.url.slice(0, 200)}`)));

  app.addHook('preClose', (done) => {
    ingest.close();
    done();
  });
  for (const register of opts.routes ?? []) register(app);

  app.get('/healthz', (_req, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = await opts.store.ready();
    return reply.code(r.ok ? 200 : 503).send(r.ok ? { status: 'ready' } : { status: 'not ready', reason: r.reason });
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await opts.metrics.registry.metrics();
    return reply.type(opts.metrics.registry.contentType).send(text);
  });
  return app;
}
