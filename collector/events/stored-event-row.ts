import type { DiagnosisEvent } from '../../src/protocol/event.ts';
import type { StoredEvent } from '../store/store.ts';

/**
 * The store row of a DiagnosisEvent: one row per problem, kept under `id` from firing to resolved, so the row
 * created at `createdAt` is updated in place at `at`.
 */
export function storedEventRow(e: DiagnosisEvent, id: string, createdAt: number, at: number): StoredEvent {
  return {
    id,
    fingerprint: e.fingerprint,
    type: e.type,
    status: e.status,
    severity: e.severity,
    app: e.app ?? null,
    tenant: e.tenant ?? null,
    subject: e.subject ?? null,
    body: e,
    createdAt,
    updatedAt: at,
    resolvedAt: e.status === 'resolved' ? at : null,
  };
}
