import { createHash } from 'node:crypto';
import type { DiagnosisEvent } from '../../src/protocol/index.ts';
import type { Store, StoredEvent } from '../store/store.ts';
import type { MissingReport } from './missing-report.ts';

export const MISSING_EVENT_TYPE = 'io.podpulse.injection-missing';
/** One problem for the whole cluster: its identity does not depend on which pods lack the sidecar. */
export const MISSING_FINGERPRINT = createHash('sha256').update('podpulse:injection-missing').digest('hex').slice(0, 32);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Records a missing-sidecar report as an event: firing while pods lack the sidecar (updated with each report),
 * resolved once none do. The open occurrence is looked up in the store, so a collector restart continues it.
 */
export async function recordMissingEvent(store: Store, report: MissingReport, source: string): Promise<StoredEvent | undefined> {
  const open = (await store.listEvents({ fingerprint: MISSING_FINGERPRINT, status: 'firing', limit: 1 })).items[0];
  const now = Date.parse(report.checkedAt);
  if (report.missing.length === 0 && !open) return undefined;
  const status = report.missing.length > 0 ? 'firing' : 'resolved';
  const createdAt = open?.createdAt ?? now;
  const n = report.missing.length;
  const body: DiagnosisEvent = {
    specversion: '1.0',
    id: createHash('sha256').update(`${MISSING_FINGERPRINT}:${createdAt}:${status}:${now}`).digest('hex').slice(0, 32),
    source,
    type: MISSING_EVENT_TYPE,
    subject: 'injection',
    time: report.checkedAt,
    datacontenttype: 'application/json',
    severity: 'warning',
    fingerprint: MISSING_FINGERPRINT,
    status,
    data: {
      summary: n > 0
        ? `${n} pod${n === 1 ? '' : 's'} in namespaces labelled podpulse.io/inject=enabled run without the podpulse sidecar (created while the webhook was unavailable); recreate them to inject it`
        : 'every pod in namespaces labelled podpulse.io/inject=enabled carries the podpulse sidecar',
      evidence: report.missing.slice(0, 100).map((p) => ({ kind: 'kubernetes' as const, subject: `${p.namespace}/${p.name}`.slice(0, 512), field: 'spec.containers', value: 'no podpulse sidecar', ...(p.createdAt ? { at: p.createdAt } : {}) })),
      instances: report.missing.map((p) => p.uid).filter((u) => UUID.test(u)).slice(0, 1000),
      labels: { namespaces: String(new Set(report.missing.map((p) => p.namespace)).size), checked: String(report.checked) },
    },
  };
  const e: StoredEvent = {
    id: open?.id ?? createHash('sha256').update(`${MISSING_FINGERPRINT}:${createdAt}`).digest('hex').slice(0, 32),
    fingerprint: MISSING_FINGERPRINT,
    type: MISSING_EVENT_TYPE,
    status,
    severity: 'warning',
    app: null,
    tenant: null,
    subject: 'injection',
    body,
    createdAt,
    updatedAt: now,
    resolvedAt: status === 'resolved' ? now : null,
  };
  await store.upsertEvent(e);
  return e;
}
