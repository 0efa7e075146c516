import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CommandResult } from '../../../src/protocol/command.ts';
import { dnsLabel, dnsSubdomain } from '../../../src/protocol/common.ts';
import { parseWith } from '../../../src/protocol/parse.ts';
import { agentAuthHook } from '../../api/agent-auth-hook.ts';
import { HttpError } from '../../api/http-error.ts';
import type { Authenticator } from '../../auth/agent-identity.ts';
import type { CommandQueue, PollingAgent } from './command-queue.ts';
import { parseRequestBody } from './parse-request-body.ts';

/** The pod a poll or result is for: the daemon sends its downward-API identity; a pod-bound token names it too. */
const AgentQuery = z.object({
  wait: z.coerce.number().int().min(0).max(3600).optional(),
  podUid: z.uuid().optional(),
  namespace: z.optional(dnsLabel),
  pod: z.optional(dnsSubdomain),
});

export interface AgentCommandsRouteOptions {
  queue: CommandQueue;
  authenticator: Authenticator;
  /** Longest long poll in seconds; a larger `?wait=` is cut to it. */
  maxWaitSeconds: number;
  retryAfterSeconds?: number;
  isClosing: () => boolean;
}

function pollingAgent(req: FastifyRequest): PollingAgent & { wait: number | undefined } {
  const r = parseWith(AgentQuery, req.query, { what: 'query' });
  if (!r.ok) throw new HttpError(400, 'PODPULSE_ERR_PROTOCOL', 'bad_request', 'invalid query', { violations: r.error.violations });
  const identity = req.agent!;
  const q = r.value;
  const podUid = q.podUid?.toLowerCase() ?? identity.podUid;
  if (podUid === undefined) {
    throw new HttpError(400, 'PODPULSE_ERR_PROTOCOL', 'bad_request', 'which pod is polling? the token does not name one', { violations: [{ path: 'podUid', message: 'is required (query parameter) when the token is not bound to a pod' }] });
  }
  for (const [field, bound, got] of [['podUid', identity.podUid, podUid], ['namespace', identity.namespace, q.namespace], ['pod', identity.pod, q.pod]] as const) {
    if (bound !== undefined && got !== undefined && bound !== got) {
      throw new HttpError(403, 'PODPULSE_ERR_FORBIDDEN', 'forbidden', `the token of ${identity.subject} does not cover this instance`, { violations: [{ path: field, message: `${JSON.stringify(got)} is not the token's ${field} ${JSON.stringify(bound)}` }] });
    }
  }
  const instance: PollingAgent['instance'] = { podUid };
  if (q.namespace !== undefined) instance.namespace = q.namespace;
  if (q.pod !== undefined) instance.pod = q.pod;
  return { identity, instance, wait: q.wait };
}

/**
 * The agent side of the channel, exactly as daemon/command-runner.ts speaks it: `GET /v1/agent/commands?wait=N`
 * answers 200 `{commands: [...]}` as soon as something is queued for the pod, or 204 after N seconds;
 * `POST /v1/agent/commands/{id}/result` stores a result (2xx), 404 for a command never queued for this pod, 409 when
 * a different result is already stored.
 */
export function agentCommandsRoutes(app: FastifyInstance, o: AgentCommandsRouteOptions): void {
  const authenticate = agentAuthHook(o.authenticator, o.retryAfterSeconds);

  app.get('/v1/agent/commands', { onRequest: authenticate }, async (req, reply) => {
    const agent = pollingAgent(req);
    const waitMs = Math.min(agent.wait ?? 0, o.maxWaitSeconds) * 1000;
    const deadline = Date.now() + waitMs;
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort());
    for (;;) {
      const commands = await o.queue.claim(agent);
      if (commands.length > 0) return reply.code(200).send({ commands });
      const left = deadline - Date.now();
      if (left <= 0 || gone.signal.aborted || o.isClosing()) return reply.code(204).send();
      await o.queue.waitFor(agent.instance.podUid, left, gone.signal);
    }
  });

  app.post<{ Params: { id: string } }>('/v1/agent/commands/:id/result', { onRequest: authenticate }, async (req, reply) => {
    const agent = pollingAgent(req);
    const result = parseRequestBody(req, CommandResult, 'command result');
    if (result.id.toLowerCase() !== req.params.id.toLowerCase()) {
      throw new HttpError(400, 'PODPULSE_ERR_PROTOCOL', 'bad_request', 'invalid command result', { violations: [{ path: 'id', message: `${result.id} is not the command id of the URL (${req.params.id})` }] });
    }
    const r = await o.queue.recordResult(agent, { ...result, id: result.id.toLowerCase() });
    if (!r.ok) {
      throw r.status === 404
        ? new HttpError(404, 'PODPULSE_ERR_NOT_FOUND', 'not_found', r.message)
        : r.status === 403 ? new HttpError(403, 'PODPULSE_ERR_FORBIDDEN', 'forbidden', r.message) : new HttpError(409, 'PODPULSE_ERR_CONFLICT', 'bad_request', r.message);
    }
    return reply.code(200).send({ stored: true, duplicate: r.duplicate });
  });
}
