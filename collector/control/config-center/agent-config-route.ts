import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../auth/agent-identity.ts';
import { agentAuthHook } from '../../api/agent-auth-hook.ts';
import type { ConfigCenter } from './config-center.ts';

/**
 * `GET /v1/agent/config`: the authenticated instance's effective config (daemon/config-sync.ts polls it). The ETag
 * is a hash of the body; an `If-None-Match` holding it gets a bodiless 304. Served from memory: no store access
 * once the instance is known.
 */
export function agentConfigRoute(app: FastifyInstance, opts: { center: ConfigCenter; authenticator: Authenticator; retryAfterSeconds: number; publicUrl?: string | undefined }): void {
  app.get('/v1/agent/config', { onRequest: agentAuthHook(opts.authenticator, opts.retryAfterSeconds) }, async (req, reply) => {
    const key = await opts.center.resolveAgent(req.agent!);
    const { body, etag, effective } = opts.center.served(key, opts.publicUrl ?? baseUrl(req));
    void reply.header('etag', etag).header('cache-control', 'no-cache').header('x-podpulse-config-revision', effective.revision);
    if (matches(req.headers['if-none-match'], etag)) return reply.code(304).send();
    return reply.code(200).type('application/json').send(body);
  });
}

/** The collector's URL as this agent reached it, so release URLs in the config point where the agent can go. */
function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`;
}

function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
