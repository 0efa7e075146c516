import type { Heartbeat } from '../../src/protocol/heartbeat.ts';
import type { IngestPlan } from './ingest-plan.ts';
import { pgArray } from './pg-array.ts';

/**
 * Dedup and the state planning reads, in one statement: the heartbeats not seen before (RETURNING of the dedup
 * insert), the stored state of their instances, locked in key order, and those instances' checks. Three row sets
 * of different shapes come back as three JSON arrays in one row.
 */
export const INGEST_READ = `WITH d AS (
    INSERT INTO heartbeat_dedup (pod_uid, boot_id, seq, received_at)
    SELECT u, b, s, $4 FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS t(u, b, s) ON CONFLICT DO NOTHING RETURNING pod_uid, boot_id, seq
  ), i AS (
    SELECT pod_uid, first_seen, last_seen, last_sent_at, status, status_since, version FROM instances
    WHERE pod_uid IN (SELECT pod_uid FROM d) ORDER BY pod_uid FOR UPDATE
  )
  SELECT (SELECT json_agg(json_build_array(pod_uid, boot_id, seq)) FROM d) AS fresh,
    (SELECT json_agg(json_build_array(pod_uid, first_seen, last_seen, last_sent_at, status, status_since, version)) FROM i) AS inst,
    (SELECT json_agg(json_build_array(c.pod_uid, c.check_id, c.kind, c.status, c.code, c.message, c.since)) FROM check_states c
      WHERE c.pod_uid IN (SELECT pod_uid FROM i)) AS checks`;

const INSTANCE_COLUMNS = `pod_uid, namespace, pod, node, app, tenant, pod_ip, agent, boot_id, last_seq, interval_ms, dropped,
      first_seen, last_seen, last_sent_at, status, status_since, version`;
const INSTANCE_UPDATE = `namespace=excluded.namespace, pod=excluded.pod, node=excluded.node, app=excluded.app,
      tenant=excluded.tenant, pod_ip=excluded.pod_ip, agent=excluded.agent, boot_id=excluded.boot_id, last_seq=excluded.last_seq,
      interval_ms=excluded.interval_ms, dropped=excluded.dropped, last_seen=excluded.last_seen, last_sent_at=excluded.last_sent_at,
      status=excluded.status, status_since=excluded.status_since`;

/** The writes other than the instance rows; $1..$18 are the instance columns (see writeValues). */
const OTHER_WRITES = `del_checks AS (
    DELETE FROM check_states c USING unnest($19::uuid[], $20::text[]) AS d(u, id) WHERE c.pod_uid = d.u AND c.check_id = d.id
  ), up_checks AS (
    INSERT INTO check_states (pod_uid, check_id, kind, status, code, message, since)
    SELECT * FROM unnest($21::uuid[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[], $27::bigint[])
    ON CONFLICT (pod_uid, check_id) DO UPDATE SET kind=excluded.kind, status=excluded.status, code=excluded.code,
      message=excluded.message, since=excluded.since
  ), transitions AS (
    INSERT INTO status_transitions (pod_uid, check_id, at, from_status, to_status, code)
    SELECT * FROM unnest($28::uuid[], $29::text[], $30::bigint[], $31::text[], $32::text[], $33::text[])
  ), rollups AS (
    INSERT INTO rollups_minute (pod_uid, minute, ok_ms, degraded_ms, failing_ms, unknown_ms)
    SELECT * FROM unnest($34::uuid[], $35::bigint[], $36::bigint[], $37::bigint[], $38::bigint[], $39::bigint[])
    ON CONFLICT (pod_uid, minute) DO UPDATE SET ok_ms = rollups_minute.ok_ms + excluded.ok_ms,
      degraded_ms = rollups_minute.degraded_ms + excluded.degraded_ms, failing_ms = rollups_minute.failing_ms + excluded.failing_ms,
      unknown_ms = rollups_minute.unknown_ms + excluded.unknown_ms
  ), app_deltas AS (
    INSERT INTO rollups_app_minute_delta (namespace, app, minute, ok_ms, degraded_ms, failing_ms, unknown_ms)
    SELECT * FROM unnest($40::text[], $41::text[], $42::bigint[], $43::bigint[], $44::bigint[], $45::bigint[], $46::bigint[])
  )`;

const INSTANCE_VALUES = `SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::uuid[],
      $10::bigint[], $11::int[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::text[], $17::bigint[], $18::bigint[])`;

/**
 * Every write of a batch planned from rows read and locked in the same transaction (INGEST_READ), in one statement
 * of data-modifying CTEs (each sees the snapshot from before the statement, so no two of them may touch the same
 * row: the plan's keys are unique per table, and deletes of rows the batch upserts are left out). Empty arrays make
 * a CTE a no-op. Returns each written instance's new version, for the replica's cache.
 */
export const INGEST_WRITE_LOCKED = `WITH up_inst AS (
    INSERT INTO instances (${INSTANCE_COLUMNS}) ${INSTANCE_VALUES}
    ON CONFLICT (pod_uid) DO UPDATE SET ${INSTANCE_UPDATE}, version = instances.version + 1
    RETURNING pod_uid, version
  ), ${OTHER_WRITES}
  SELECT pod_uid, version FROM up_inst`;

/**
 * A whole batch planned from the replica's cached instance state, as ONE autocommit statement: the dedup insert,
 * every write, and a guard. Each instance row is updated only where its version is still the cached one ($18 holds
 * cached + 1); a row that is gone is inserted, which the guard also counts as stale (xmax = 0 marks an insert).
 * If a heartbeat was a duplicate or any row was stale, ingest_guard raises PP409 and the statement, dedup included,
 * leaves no trace: the store then takes the locked path. $47..$50 are the dedup keys and the receive time.
 */
export const INGEST_WRITE_CHECKED = `WITH d AS (
    INSERT INTO heartbeat_dedup (pod_uid, boot_id, seq, received_at)
    SELECT u, b, s, $50 FROM unnest($47::uuid[], $48::uuid[], $49::bigint[]) AS t(u, b, s) ON CONFLICT DO NOTHING RETURNING 1
  ), up_inst AS (
    INSERT INTO instances (${INSTANCE_COLUMNS}) ${INSTANCE_VALUES}
    ON CONFLICT (pod_uid) DO UPDATE SET ${INSTANCE_UPDATE}, version = excluded.version
    WHERE instances.version = excluded.version - 1
    RETURNING xmax = 0 AS inserted
  ), ${OTHER_WRITES}
  SELECT ingest_guard((SELECT count(*) FROM d) = cardinality($47::uuid[])
    AND (SELECT count(*) FILTER (WHERE NOT inserted) FROM up_inst) = cardinality($1::uuid[])) AS ok`;

/** SQLSTATE raised by ingest_guard (migration 4). */
export const STALE_PLAN = 'PP409';

/**
 * Parameters $1..$46 of both write statements, from a plan whose arrays are already in key order; `versions` gives
 * the value written to each instance's version column (the locked statement ignores it on update).
 */
export function writeValues(plan: IngestPlan, versions: (podUid: string) => number): unknown[] {
  const { instances: I, checkUpserts: C, transitions: T, rollups: R, appRollups: A } = plan;
  // One statement cannot delete and upsert the same row; an upsert rewrites every column, so it stands for both.
  const upserted = new Set(C.map((x) => `${x.podUid}|${x.checkId}`));
  const D = plan.checkDeletes.filter((d) => !upserted.has(`${d.podUid}|${d.checkId}`));
  return [
    pgArray(I, (i) => i.podUid), pgArray(I, (i) => i.namespace), pgArray(I, (i) => i.pod), pgArray(I, (i) => i.node), pgArray(I, (i) => i.app), pgArray(I, (i) => i.tenant),
    pgArray(I, (i) => i.podIp), pgArray(I, (i) => JSON.stringify(i.agent)), pgArray(I, (i) => i.bootId), pgArray(I, (i) => i.lastSeq), pgArray(I, (i) => i.intervalMs),
    pgArray(I, (i) => i.dropped), pgArray(I, (i) => i.firstSeen), pgArray(I, (i) => i.lastSeen), pgArray(I, (i) => i.lastSentAt), pgArray(I, (i) => i.status), pgArray(I, (i) => i.statusSince),
    pgArray(I, (i) => versions(i.podUid)),
    pgArray(D, (d) => d.podUid), pgArray(D, (d) => d.checkId),
    pgArray(C, (x) => x.podUid), pgArray(C, (x) => x.checkId), pgArray(C, (x) => x.kind), pgArray(C, (x) => x.status), pgArray(C, (x) => x.code), pgArray(C, (x) => x.message), pgArray(C, (x) => x.since),
    pgArray(T, (t) => t.podUid), pgArray(T, (t) => t.checkId), pgArray(T, (t) => t.at), pgArray(T, (t) => t.from), pgArray(T, (t) => t.to), pgArray(T, (t) => t.code),
    pgArray(R, (r) => r.podUid), pgArray(R, (r) => r.minute), pgArray(R, (r) => r.okMs), pgArray(R, (r) => r.degradedMs), pgArray(R, (r) => r.failingMs), pgArray(R, (r) => r.unknownMs),
    pgArray(A, (r) => r.namespace), pgArray(A, (r) => r.app), pgArray(A, (r) => r.minute), pgArray(A, (r) => r.okMs), pgArray(A, (r) => r.degradedMs), pgArray(A, (r) => r.failingMs), pgArray(A, (r) => r.unknownMs),
  ];
}

/** $47..$50 of the checked statement. */
export function dedupValues(sorted: readonly Heartbeat[], receivedAt: number): unknown[] {
  return [pgArray(sorted, (h) => h.instance.podUid), pgArray(sorted, (h) => h.bootId), pgArray(sorted, (h) => h.seq), receivedAt];
}

/** Sorts a plan's arrays into one global key order, so statements that overlap lock rows in the same order. */
export function sortPlan(plan: IngestPlan): IngestPlan {
  plan.instances.sort((a, b) => cmp(a.podUid, b.podUid));
  plan.checkUpserts.sort((a, b) => cmp(a.podUid, b.podUid) || cmp(a.checkId, b.checkId));
  plan.rollups.sort((a, b) => cmp(a.podUid, b.podUid) || a.minute - b.minute);
  plan.appRollups.sort((a, b) => cmp(a.app, b.app) || cmp(a.namespace, b.namespace) || a.minute - b.minute);
  return plan;
}

export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Folds per-app rollup deltas into rollups_app_minute in one statement. Safe beside ingest (which only inserts
 * deltas) and beside another replica folding: a delta row is deleted, and so counted, once.
 */
export const FOLD_APP_DELTAS = `WITH moved AS (DELETE FROM rollups_app_minute_delta RETURNING *)
  INSERT INTO rollups_app_minute (namespace, app, minute, ok_ms, degraded_ms, failing_ms, unknown_ms)
  SELECT namespace, app, minute, SUM(ok_ms), SUM(degraded_ms), SUM(failing_ms), SUM(unknown_ms) FROM moved GROUP BY app, namespace, minute
  ORDER BY app, namespace, minute
  ON CONFLICT (app, namespace, minute) DO UPDATE SET ok_ms = rollups_app_minute.ok_ms + excluded.ok_ms,
    degraded_ms = rollups_app_minute.degraded_ms + excluded.degraded_ms, failing_ms = rollups_app_minute.failing_ms + excluded.failing_ms,
    unknown_ms = rollups_app_minute.unknown_ms + excluded.unknown_ms`;
