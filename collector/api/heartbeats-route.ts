import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_VERSION } from '../../src/protocol/common.ts';
import type { HeartbeatAck, Heartbeat } from '../../src/protocol/heartbeat.ts';
import type { Logger } from '../../src/log/logger.ts';
import { instanceMismatch, type AgentIdentity, type Authenticator } from '../auth/agent-identity.ts';
import { agentAuthenticator } from './agent-auth-hook.ts';
import { QueueFullError, type GroupCommitter } from '../ingest/group-committer.ts';
import { parseHeartbeatBody } from '../ingest/parse-heartbeat-body.ts';
import { HttpError, toHttpError, writeError, writeJson } from './http-error.ts';
import type { IngestMetrics } from './ingest-metrics.ts';
import { readJsonBody, type BodyLimits } from './read-json-body.ts';

/** What the 202 tells the sidecar to do next; the control plane provides it once built. */
export type AgentHints = (identity: AgentIdentity, heartbeats: readonly Heartbeat[]) => { configRevision: string; commandsPending: boolean };

/** Default hints: echo the revision the agent runs (nothing newer to offer) and no commands. */
export const echoHints: AgentHints = (_id, hbs) => ({ configRevision: hbs[hbs.length - 1]!.agent.configRevision, commandsPending: false });

export interface HeartbeatsRouteOptions {
  authenticator: Authenticator;
  committer: GroupCommitter;
  metrics: IngestMetrics;
  limits: BodyLimits;
  log: Logger;
  hints?: AgentHints | undefined;
  /** Seconds in Retry-After of a 429 or 503. */
  retryAfterSeconds?: number | undefined;
}

/** At most this many violations in a 400: a batch of 1,000 bad heartbeats does not become a megabyte of errors. */
const MAX_VIOLATIONS = 100;

const PATH = '/v1/heartbeats';

/** Whether a request is the ingest endpoint, `POST /v1/heartbeats` (a query string is ignored, as a router would). */
export function isHeartbeatsRequest(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  return req.method === 'POST' && url.startsWith(PATH) && (url.length === PATH.length || url.charCodeAt(PATH.length) === 63 /* ? */);
}

/**
 * `POST /v1/heartbeats` on node:http directly: authenticate, read and validate the body, check the identity covers
 * every instance, group-commit, answer 202. It is the one endpoint every sidecar calls every few seconds, so it does
 * not go through fastify's router, hooks and reply pipeline: without them the collector ingests 8-15 % more
 * heartbeats per second (docs/adr/0010). Every other route stays on fastify. Errors leave in the API's shape, as
 * fastify's error handler would send them; nothing thrown here escapes to the server.
 */
export function heartbeatsRoute(opts: HeartbeatsRouteOptions): { handle: (req: IncomingMessage, res: ServerResponse) => void; close: () => void } {
  const retry = String(opts.retryAfterSeconds ?? 1);
  const hints = opts.hints ?? echoHints;
  const log = opts.log.child({ component: 'api' });
  const authenticate = agentAuthenticator(opts.authenticator, opts.retryAfterSeconds);
  let closing = false;
  // Label children resolved once: inc({ result }) would hash the label set on every request.
  const counted = { accepted: opts.metrics.heartbeats.labels('accepted'), duplicate: opts.metrics.heartbeats.labels('duplicate') };

  async function accept(req: IncomingMessage): Promise<HeartbeatAck> {
    // Authentication comes first, so an unauthenticated client costs no body parsing.
    const identity = await authenticate(req.headers.authorization);
    const body = await readJsonBody(req, opts.limits);
    if (body.length === 0) throw new HttpError(400, 'PODPULSE_ERR_PROTOCOL', 'bad_request', 'invalid request body', { violations: [{ path: '', message: 'the body is empty' }] });
    const parsed = parseHeartbeatBody(body);
    if (!parsed.ok) {
      const violations = parsed.violations.slice(0, MAX_VIOLATIONS);
      const more = parsed.violations.length - violations.length;
      throw new HttpError(400, 'PODPULSE_ERR_PROTOCOL', 'bad_request', more > 0 ? `${parsed.message} (${more} more violations not shown)` : parsed.message, { violations });
    }
    const hbs = parsed.heartbeats;
    for (let i = 0; i < hbs.length; i++) {
      const why = instanceMismatch(identity, hbs[i]!.instance);
      if (why) {
        throw new HttpError(403, 'PODPULSE_ERR_FORBIDDEN', 'forbidden', `the token of ${identity.subject} does not cover this instance`, {
          violations: [{ path: parsed.batch ? `heartbeats[${i}].instance` : 'instance', message: why }],
        });
      }
    }
    let outcomes;
    try {
      outcomes = await opts.committer.submit(hbs);
    } catch (err) {
      // The group committer has logged the store failure once per batch; this request only answers 503.
      if (err instanceof QueueFullError) throw new HttpError(429, 'PODPULSE_ERR_OVERLOADED', 'overloaded', err.message, { headers: { 'retry-after': retry } });
      throw new HttpError(503, 'PODPULSE_ERR_STORE', 'store_error', 'the store could not commit the heartbeats; retry later', { headers: { 'retry-after': retry } });
    }
    let duplicates = 0;
    for (const o of outcomes) if (o.duplicate) duplicates++;
    counted.accepted.inc(outcomes.length - duplicates);
    if (duplicates > 0) counted.duplicate.inc(duplicates);
    const h = hints(identity, hbs);
    return { apiVersion: API_VERSION, accepted: outcomes.length - duplicates, duplicates, configRevision: h.configRevision, commandsPending: h.commandsPending };
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    if (closing) {
      // As fastify's return503OnClosing answers every other route while the server drains.
      res.setHeader('connection', 'close');
      writeError(res, new HttpError(503, 'PODPULSE_ERR_OVERLOADED', 'unavailable', 'the collector is shutting down', { headers: { 'retry-after': retry } }));
      return;
    }
    accept(req).then(
      (ack) => {
        writeJson(res, 202, ack);
        opts.metrics.requestDuration.observe((performance.now() - started) / 1000);
      },
      (err: unknown) => {
        const e = toHttpError(err);
        opts.metrics.rejections.inc({ reason: e.reason });
        if (e.reason === 'internal') log.error({ err, method: req.method, url: (req.url ?? '').slice(0, 200) }, 'request failed');
        // After an oversized body the rest was never read: close instead of reusing the connection.
        if (e.statusCode === 413) res.setHeader('connection', 'close');
        writeError(res, e);
      },
    );
  }

  return { handle, close: () => void (closing = true) };
}
