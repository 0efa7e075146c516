import type { SQLInputValue, StatementSync } from 'node:sqlite';
import type { IngestPlan } from './ingest-plan.ts';
import type { StoredInstance } from './store.ts';

/** The store's statement cache: the same SQL text gets the same prepared statement. */
export type Prepare = (sql: string) => StatementSync;

/**
 * Rows per statement. A batch of n rows is written with at most log2(n) statements of these sizes (30 rows: 16 + 8
 * + 4 + 2), so each table needs six prepared statements, not one per batch size. Per statement, node:sqlite and
 * SQLite pay a call, a reset and a program start; per row, only the b-tree work remains.
 */
const CHUNKS = [32, 16, 8, 4, 2, 1] as const;

/** `(?,?,?),(?,?,?)` for `rows` rows of `width` values. */
function tuples(rows: number, width: number): string {
  const one = `(${'?,'.repeat(width - 1)}?)`;
  return Array.from({ length: rows }, () => one).join(',');
}

/**
 * The SQL text per statement head and chunk size, built once: the same string object each time, so the statement
 * cache's lookup does not hash a freshly built string of several hundred characters per chunk.
 */
const sqlTexts = new Map<string, Map<number, string>>();
function chunkSql(head: string, tail: string, width: number, rows: number): string {
  let bySize = sqlTexts.get(head);
  if (!bySize) sqlTexts.set(head, (bySize = new Map<number, string>()));
  let sql = bySize.get(rows);
  if (sql === undefined) bySize.set(rows, (sql = `${head} VALUES ${tuples(rows, width)} ${tail}`));
  return sql;
}

/** Runs `INSERT ... VALUES <rows> <tail>` over `values` (rows × width, flattened) in power-of-two chunks. */
export function insertRows(prepare: Prepare, head: string, tail: string, width: number, values: SQLInputValue[]): void {
  const rows = values.length / width;
  let at = 0;
  for (const n of CHUNKS) {
    while (rows - at >= n) {
      prepare(chunkSql(head, tail, width, n)).run(...values.slice(at * width, (at + n) * width));
      at += n;
    }
  }
}

/**
 * The state changes of a planned batch, inside the caller's transaction: the given instance rows (new ones, and
 * those whose status, identity or agent changed), check states and transitions. Rollups and last-seen are deferred
 * (sqlite-deferred-writes.ts). Check deletes go first: a check removed and added back within one batch is both
 * deleted and upserted, and must end up present.
 */
export function writeStateChanges(prepare: Prepare, plan: IngestPlan, instances: readonly StoredInstance[]): void {
  const del = prepare('DELETE FROM check_states WHERE pod_uid = ? AND check_id = ?');
  for (const d of plan.checkDeletes) del.run(d.podUid, d.checkId);

  // A known instance in the same namespace and app (nearly every heartbeat) is updated in place without assigning
  // those two indexed columns: SQLite rewrites the entries of every index whose columns a statement assigns, changed
  // or not. Only a new instance, or one whose namespace or app changed, takes the full upsert.
  const touch = prepare(`UPDATE instances SET pod = ?, node = ?, tenant = ?, pod_ip = ?, agent = ?, boot_id = ?, last_seq = ?,
      interval_ms = ?, dropped = ?, last_seen = ?, last_sent_at = ?, status = ?, status_since = ? WHERE pod_uid = ? AND namespace = ? AND app = ?`);
  const inst: SQLInputValue[] = [];
  for (const i of instances) {
    const agent = JSON.stringify(i.agent);
    const moved = touch.run(i.pod, i.node, i.tenant, i.podIp, agent, i.bootId, i.lastSeq, i.intervalMs, i.dropped, i.lastSeen, i.lastSentAt,
      i.status, i.statusSince, i.podUid, i.namespace, i.app).changes;
    if (Number(moved) === 0) {
      inst.push(i.podUid, i.namespace, i.pod, i.node, i.app, i.tenant, i.podIp, agent, i.bootId, i.lastSeq,
        i.intervalMs, i.dropped, i.firstSeen, i.lastSeen, i.lastSentAt, i.status, i.statusSince);
    }
  }
  insertRows(prepare, `INSERT INTO instances (pod_uid, namespace, pod, node, app, tenant, pod_ip, agent, boot_id, last_seq,
      interval_ms, dropped, first_seen, last_seen, last_sent_at, status, status_since)`, `ON CONFLICT (pod_uid) DO UPDATE SET
      namespace=excluded.namespace, pod=excluded.pod, node=excluded.node, app=excluded.app, tenant=excluded.tenant,
      pod_ip=excluded.pod_ip, agent=excluded.agent, boot_id=excluded.boot_id, last_seq=excluded.last_seq, interval_ms=excluded.interval_ms,
      dropped=excluded.dropped, last_seen=excluded.last_seen, last_sent_at=excluded.last_sent_at, status=excluded.status,
      status_since=excluded.status_since`, 17, inst);

  const checks: SQLInputValue[] = [];
  for (const c of plan.checkUpserts) checks.push(c.podUid, c.checkId, c.kind, c.status, c.code, c.message, c.since);
  insertRows(prepare, 'INSERT INTO check_states (pod_uid, check_id, kind, status, code, message, since)', `ON CONFLICT (pod_uid, check_id)
      DO UPDATE SET kind=excluded.kind, status=excluded.status, code=excluded.code, message=excluded.message, since=excluded.since`, 7, checks);

  const trans: SQLInputValue[] = [];
  for (const t of plan.transitions) trans.push(t.podUid, t.checkId, t.at, t.from, t.to, t.code);
  insertRows(prepare, 'INSERT INTO status_transitions (pod_uid, check_id, at, from_status, to_status, code)', '', 6, trans);
}
