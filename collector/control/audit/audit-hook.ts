import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '../../../src/log/logger.ts';
import { bearerToken } from '../../auth/agent-identity.ts';
import type { OperatorAuth } from '../../auth/operator-auth.ts';
import type { AuditActor, AuditLog, AuditOutcome } from './audit-log.ts';

/** What a route adds to its request's audit entry (the hook fills in who, when, status and outcome). */
export interface AuditNote {
  /** Replaces the default `<METHOD> <route>`, e.g. `command.create`. */
  action?: string;
  commandId?: string;
  instances?: string[];
  details?: Record<string, unknown>;
}

declare module 'fastify' {
  interface FastifyRequest {
    audit?: AuditNote;
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Audits every mutating operator request (`/api/v1/...` with POST, PUT, PATCH, DELETE), refused ones included: who,
 * what, which instances, the status and its outcome. It runs as onSend, not onResponse, so the entry is written
 * before the operator sees the answer: a script that reads the audit log right after a change finds it there.
 */
export function registerAuditHook(app: FastifyInstance, opts: { audit: AuditLog; operatorAuth: OperatorAuth; log: Logger }): void {
  app.addHook('onSend', async (req, reply, payload) => {
    if (!MUTATING.has(req.method) || !req.url.startsWith('/api/v1/')) return payload;
    const note = req.audit ?? {};
    const route = req.routeOptions.url;
    try {
      await opts.audit.write({
        actor: actorOf(req, opts.operatorAuth),
        action: note.action ?? routeAction(req) ?? `${req.method} ${route ?? req.url.split('?')[0]!.slice(0, 200)}`,
        outcome: outcomeOf(reply.statusCode),
        method: req.method,
        path: req.url.slice(0, 500),
        statusCode: reply.statusCode,
        ...(note.commandId ? { commandId: note.commandId } : {}),
        ...(note.instances ? { instances: note.instances } : {}),
        ...(note.details ? { details: note.details } : {}),
      });
    } catch {
      // AuditLog.write has logged it; the change itself already happened and its answer must still go out.
    }
    return payload;
  });
}

/** A route names its audit action in `config: { auditAction }`, so refusals before the handler (401, 403) carry it too. */
function routeAction(req: FastifyRequest): string | undefined {
  const a = (req.routeOptions.config as { auditAction?: unknown } | undefined)?.auditAction;
  return typeof a === 'string' ? a : undefined;
}

function actorOf(req: FastifyRequest, auth: OperatorAuth): AuditActor {
  const op = req.operator ?? auth.identify(bearerToken(req.headers.authorization));
  if (op) return { type: 'operator', name: op.name, role: op.role };
  return { type: 'operator', name: req.headers.authorization ? '(unknown token)' : '(no token)' };
}

function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'ok';
  if (status === 401 || status === 403) return 'denied';
  if (status < 500) return 'refused';
  return 'error';
}
