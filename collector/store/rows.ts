import { ValidationError } from '../../src/errors.ts';
import type { AgentState } from '../../src/protocol/heartbeat.ts';
import type { StoredRecord } from './record-store.ts';
import type { CheckState, InstanceStatus, StoredEvent, StoredInstance, Transition } from './store.ts';

/** Row shapes shared by both stores: snake_case columns, times as numbers, JSON as text (SQLite) or parsed (PostgreSQL). */
type Row = Record<string, unknown>;

const json = (v: unknown): unknown => (typeof v === 'string' ? (JSON.parse(v) as unknown) : v);
const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));

export function toInstance(r: Row): StoredInstance {
  return {
    podUid: String(r.pod_uid),
    namespace: String(r.namespace),
    pod: String(r.pod),
    node: strOrNull(r.node),
    app: String(r.app),
    tenant: String(r.tenant),
    podIp: strOrNull(r.pod_ip),
    agent: json(r.agent) as AgentState,
    bootId: String(r.boot_id),
    lastSeq: num(r.last_seq),
    intervalMs: num(r.interval_ms),
    dropped: num(r.dropped),
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
    lastSentAt: num(r.last_sent_at),
    status: String(r.status) as InstanceStatus,
    statusSince: num(r.status_since),
  };
}

export function toCheck(r: Row): CheckState {
  return {
    podUid: String(r.pod_uid),
    checkId: String(r.check_id),
    kind: String(r.kind) as CheckState['kind'],
    status: String(r.status) as CheckState['status'],
    code: String(r.code),
    message: strOrNull(r.message),
    since: num(r.since),
  };
}

export function toTransition(r: Row): Transition {
  return { podUid: String(r.pod_uid), checkId: strOrNull(r.check_id), at: num(r.at), from: strOrNull(r.from_status), to: String(r.to_status), code: strOrNull(r.code) };
}

export function toEvent(r: Row): StoredEvent {
  return {
    id: String(r.id),
    fingerprint: String(r.fingerprint),
    type: String(r.type),
    status: String(r.status) as StoredEvent['status'],
    severity: String(r.severity) as StoredEvent['severity'],
    app: strOrNull(r.app),
    tenant: strOrNull(r.tenant),
    subject: strOrNull(r.subject),
    body: json(r.body),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    resolvedAt: r.resolved_at === null || r.resolved_at === undefined ? null : num(r.resolved_at),
  };
}

/** Opaque page cursors: base64url JSON of the sort key of the last row. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** Decodes a cursor made by encodeCursor with the given element types; anything else is a 400-worthy error. */
export function decodeCursor(cursor: string, types: readonly ('string' | 'number')[]): (string | number)[] {
  let v: unknown;
  try {
    v = cursor.length <= 512 ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    v = undefined;
  }
  if (!Array.isArray(v) || v.length !== types.length || !v.every((x, i) => typeof x === types[i])) {
    throw new ValidationError('PODPULSE_ERR_PROTOCOL', 'invalid query', [{ path: 'cursor', message: 'not a cursor returned by this API' }]);
  }
  return v as (string | number)[];
}

/** Clamps a page size to 1..1000 (default 100). */
export const pageSize = (limit: number | undefined): number => Math.min(1000, Math.max(1, Math.floor(limit ?? 100)));

/** Both stores select `body` as JSON text (PostgreSQL: `body::text`), so a body that is itself a string survives. */
export function toRecord<T>(r: Row): StoredRecord<T> {
  return { kind: String(r.kind), id: String(r.id), version: num(r.version), body: JSON.parse(String(r.body)) as T, createdAt: num(r.created_at), updatedAt: num(r.updated_at) };
}
