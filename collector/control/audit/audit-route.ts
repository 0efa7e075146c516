import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseWith } from '../../../src/protocol/parse.ts';
import type { OperatorAuth } from '../../auth/operator-auth.ts';
import { HttpError } from '../../api/http-error.ts';
import type { AuditLog } from './audit-log.ts';

const time = z.union([z.iso.datetime({ offset: true }), z.string().regex(/^\d{1,15}$/, 'must be RFC 3339 or epoch milliseconds')]).transform((s) => (/^\d+$/.test(s) ? Number(s) : Date.parse(s)));

const AuditQuery = z.strictObject({
  actor: z.string().max(128).optional(),
  action: z.string().max(128).optional(),
  outcome: z.enum(['ok', 'denied', 'refused', 'failed', 'expired', 'error']).optional(),
  instance: z.string().max(64).optional(),
  commandId: z.string().max(64).optional(),
  since: time.optional(),
  until: time.optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  cursor: z.string().regex(/^[0-9A-Z]{1,26}$/, 'must be a nextCursor from a previous page').optional(),
});

/**
 * `GET /api/v1/audit`, newest first, for role operator and above: operators answer for the commands they run and
 * need to see them; viewers do not see it (params and outputs of troubleshooting commands may be sensitive).
 */
export function auditRoute(app: FastifyInstance, opts: { audit: AuditLog; operatorAuth: OperatorAuth }): void {
  app.get('/api/v1/audit', { onRequest: opts.operatorAuth.require('operator') }, async (req) => {
    const r = parseWith(AuditQuery, req.query, { what: 'audit query' });
    if (!r.ok) throw new HttpError(400, 'PODPULSE_ERR_PROTOCOL', 'bad_request', 'invalid audit query', { violations: r.error.violations });
    return opts.audit.list(r.value);
  });
}
