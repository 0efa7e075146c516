import type { FastifyInstance } from 'fastify';
import { API_VERSION } from '../../src/protocol/common.ts';
import type { HeartbeatAck, Heartbeat } from '../../src/protocol/heartbeat.ts';
import { instanceMismatch, type AgentIdentity, type Authenticator } from '../auth/agent-identity.ts';
import { agentAuthHook } from './agent-auth-hook.ts';
import { QueueFullError, type GroupCommitter } from '../ingest/group-committer.ts';
import { parseHeartbeatBody } from '../ingest/parse-heartbeat-body.ts';
import { HttpError } from './http-error.ts';
import type { IngestMetrics } from './ingest-metrics.ts';
import { isJsonContentType } from './read-json-body.ts';

/** What the 202 tells the sidecar to do next; the control plane provides it once built. */
export type AgentHints = (identity: AgentIdentity, heartbeats: readonly Heartbeat[]) => { configRevision: string; commandsPending: boolean };

/** Default hints: echo the revision the agent runs (nothing newer to offer) and no commands. */
export const echoHints: AgentHints = (_id, hbs) => ({ configRevision: hbs[hbs.length - 1]!.agent.configRevision, commandsPending: false });

export interface HeartbeatsRouteOptions {
  authenticator: Authenticator;
  committer: GroupCommitter;
  metrics: IngestMetrics;
  hints?: AgentHints;
  /** Seconds in Retry-After for 429/503. */
  retryAfterSeconds?: number;
}

/** At most this many violations in a 400: a batch of 1,000 bad heartbeats does not become a megabyte of errors. */
const MAX_VIOLATIONS = 100;

/** `POST /v1/heartbeats`: authenticate, validate, check the identity covers every instance, group-commit, answer 202. */
export function heartbeatsRoute(app: FastifyInstance, opts: HeartbeatsRouteOptions): void {
  const retry = String(opts.retryAfterSeconds ?? 1);
  const hints = opts.hints ?? echoHints;

  const authenticate = agentAuthHook(opts.authenticator, opts.retryAfterSeconds);

  app.post('/v1/heartbeats', { onRequest: authenticate }, async (req, reply) => {
    const started = performance.now();
    // fastify skips the body parser for an empty body: refuse it here as the parser would have.
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
      if (!isJsonContentType(req.headers['content-type'])) throw new HttpError(415, 'PODPULSE_ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported_media_type', 'expected Content-Type application/json');
      throw new HttpError(400, 'PODPULSE_ERR_PROTOCOL', 'bad_request', 'invalid request body', { violations: [{ path: '', message: 'the body is empty' }] });
    }
    const parsed = parseHeartbeatBody(req.body);
    if (!parsed.ok) {
      const violations = parsed.violations.slice(0, MAX_VIOLATIONS);
      const more = parsed.violations.length - violations.length;
      throw new HttpError(400, 'PODPULSE_ERR_PROTOCOL', 'bad_request', more > 0 ? `${parsed.message} (${more} more violations not shown)` : parsed.message, { violations });
    }
    const identity = req.agent!;
    for (const [i, hb] of parsed.heartbeats.entries()) {
      const why = instanceMismatch(identity, hb.instance);
      if (why) {
        throw new HttpError(403, 'PODPULSE_ERR_FORBIDDEN', 'forbidden', `the token of ${identity.subject} does not cover this instance`, {
          violations: [{ path: parsed.batch ? `heartbeats[${i}].instance` : 'instance', message: why }],
        });
      }
    }
    let outcomes;
    try {
      outcomes = await opts.committer.submit(parsed.heartbeats);
    } catch (err) {
      // The group committer has logged the store failure once per batch; this request only answers 503.
      if (err instanceof QueueFullError) throw new HttpError(429, 'PODPULSE_ERR_OVERLOADED', 'overloaded', err.message, { headers: { 'retry-after': retry } });
      throw new HttpError(503, 'PODPULSE_ERR_STORE', 'store_error', 'the store could not commit the heartbeats; retry later', { headers: { 'retry-after': retry } });
    }
    const duplicates = outcomes.filter((o) => o.duplicate).length;
    opts.metrics.heartbeats.inc({ result: 'accepted' }, outcomes.length - duplicates);
    if (duplicates > 0) opts.metrics.heartbeats.inc({ result: 'duplicate' }, duplicates);
    opts.metrics.requestDuration.observe((performance.now() - started) / 1000);
    const ack: HeartbeatAck = { apiVersion: API_VERSION, accepted: outcomes.length - duplicates, duplicates, ...hints(identity, parsed.heartbeats) };
    return reply.code(202).send(ack);
  });
}

/** Maps any error a route or fastify raised to the API's error shape. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.statusCode === 413) return new HttpError(413, 'PODPULSE_ERR_PAYLOAD_TOO_LARGE', 'too_large', 'request body too large');
  if (e.statusCode === 415) return new HttpError(415, 'PODPULSE_ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported_media_type', 'expected Content-Type application/json');
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return new HttpError(e.statusCode, 'PODPULSE_ERR_PROTOCOL', 'bad_request', String(e.message ?? 'bad request').slice(0, 200));
  }
  return new HttpError(500, 'PODPULSE_ERR_INTERNAL', 'internal', 'internal error');
}
