import type { FastifyRequest } from 'fastify';
import { bearerToken, type AgentIdentity, type Authenticator } from '../auth/agent-identity.ts';
import { HttpError } from './http-error.ts';

declare module 'fastify' {
  interface FastifyRequest {
    agent?: AgentIdentity;
  }
}

/**
 * onRequest hook of every agent endpoint (`/v1/...`): sets `req.agent` or answers 401 (bad token) / 503 (the
 * apiserver did not answer; the token may well be good). It runs before the body is read, so an unauthenticated
 * client costs no parsing.
 */
export function agentAuthHook(authenticator: Authenticator, retryAfterSeconds = 1): (req: FastifyRequest) => Promise<void> {
  const retry = String(retryAfterSeconds);
  return async (req) => {
    const r = await authenticator.authenticate(bearerToken(req.headers.authorization));
    if (r.ok) {
      req.agent = r.identity;
      return;
    }
    if (r.reason === 'unavailable') throw new HttpError(503, 'PODPULSE_ERR_OVERLOADED', 'unavailable', r.message, { headers: { 'retry-after': retry } });
    throw new HttpError(401, 'PODPULSE_ERR_UNAUTHENTICATED', 'unauthenticated', r.message, { headers: { 'www-authenticate': 'Bearer realm="podpulse"' } });
  };
}
