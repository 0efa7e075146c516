import type { FastifyRequest } from 'fastify';
import { bearerToken, type AgentIdentity, type Authenticator } from '../auth/agent-identity.ts';
import { HttpError } from './http-error.ts';

declare module 'fastify' {
  interface FastifyRequest {
    agent?: AgentIdentity;
  }
}

/**
 * onRequest hook of the agent endpoints fastify serves (`/v1/...`; the heartbeat route calls agentAuthenticator
 * itself): sets `req.agent` or answers 401 (bad token) / 503 (the apiserver did not answer; the token may well be
 * good). It runs before the body is read, so an unauthenticated client costs no parsing.
 */
export function agentAuthHook(authenticator: Authenticator, retryAfterSeconds = 1): (req: FastifyRequest) => Promise<void> {
  const authenticate = agentAuthenticator(authenticator, retryAfterSeconds);
  return async (req) => {
    req.agent = await authenticate(req.headers.authorization);
  };
}

/**
 * The agent identity of an `Authorization` header, or an HttpError: 401 for a bad token, 503 when the apiserver did
 * not answer (the token may well be good). Shared by the hook above and the heartbeat route, which runs outside
 * fastify.
 */
export function agentAuthenticator(authenticator: Authenticator, retryAfterSeconds = 1): (authorization: string | undefined) => Promise<AgentIdentity> {
  const retry = String(retryAfterSeconds);
  return async (authorization) => {
    const r = await authenticator.authenticate(bearerToken(authorization));
    if (r.ok) return r.identity;
    if (r.reason === 'unavailable') throw new HttpError(503, 'PODPULSE_ERR_OVERLOADED', 'unavailable', r.message, { headers: { 'retry-after': retry } });
    throw new HttpError(401, 'PODPULSE_ERR_UNAUTHENTICATED', 'unauthenticated', r.message, { headers: { 'www-authenticate': 'Bearer realm="podpulse"' } });
  };
}
