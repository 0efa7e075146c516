// Seeds a SQLite store file with a fleet and its history, straight through SQL (ingesting 14 M heartbeats through
// the API would take longer than the benchmark): instances, current checks, status transitions, per-instance and
// per-app minute rollups, shaped like a day of a real fleet — mostly healthy, a few failing and degraded episodes,
// a few instances silent for a while.
import { randomUUID } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { SQLITE_MIGRATIONS } from '../collector/store/migrations/sqlite-migrations.ts';

const MIN = 60_000;

export interface SeedOptions {
  instances: number;
  hours: number;
  apps: number;
  nodes: number;
  /** End of the history (epoch ms). */
  now: number;
}

interface SeedTransition {
  at: number;
  check: string | null;
  from: string | null;
  to: string;
  code: string | null;
}

/** A deterministic pseudo-random stream, so runs seed the same shape. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

export function seedHistory(path: string, o: SeedOptions): { rows: number } {
  const db = new DatabaseSync(path);
  // The schema as the collector would create it (it finds every version applied when it starts).
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  for (const m of [...SQLITE_MIGRATIONS].sort((a, b) => a.version - b.version)) {
    for (const sql of m.statements) db.exec(sql);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
  }
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = OFF');
  const rand = rng(42);
  const minutes = o.hours * 60;
  const start = Math.floor((o.now - o.hours * 3600_000) / MIN) * MIN;
  const agent = JSON.stringify({ daemonVersion: '1.0.0', workerVersion: '1.0.0', configRevision: 'r1', breaker: 'closed', worker: 'running' });
  const insInstance = db.prepare(`INSERT INTO instances (pod_uid, namespace, pod, node, app, tenant, pod_ip, agent, boot_id, last_seq, interval_ms,
    dropped, first_seen, last_seen, last_sent_at, status, status_since) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`);
  const insCheck = db.prepare('INSERT INTO check_states (pod_uid, check_id, kind, status, code, message, since) VALUES (?,?,?,?,?,?,?)');
  const insTransition = db.prepare('INSERT INTO status_transitions (pod_uid, check_id, at, from_status, to_status, code) VALUES (?,?,?,?,?,?)');
  const insRollup = db.prepare('INSERT INTO rollups_minute (pod_uid, minute, ok_ms, degraded_ms, failing_ms, unknown_ms) VALUES (?,?,?,?,?,?)');
  const insApp = db.prepare('INSERT INTO rollups_app_minute (namespace, app, minute, ok_ms, degraded_ms, failing_ms, unknown_ms) VALUES (?,?,?,?,?,?,?)');
  const appTotals = new Map<string, Float64Array>();
  let rows = 0;
  const uids = Array.from({ length: o.instances }, () => randomUUID()).sort();
  db.exec('BEGIN');
  for (const [i, uid] of uids.entries()) {
    const app = `app-${i % o.apps}`;
    // One episode per instance at most: 8 % fail for 5..60 minutes, 4 % degrade, 2 % go silent for 10..30 minutes.
    const r = rand();
    const kind = r < 0.08 ? 'failing' : r < 0.12 ? 'degraded' : r < 0.14 ? 'silent' : undefined;
    const len = kind === 'silent' ? 10 + Math.floor(rand() * 20) : 5 + Math.floor(rand() * 55);
    const at = Math.floor(rand() * (minutes - len));
    // 1 % are failing right now, for the last 20 minutes.
    const failingNow = rand() < 0.01;
    let totals = appTotals.get(app);
    if (!totals) appTotals.set(app, (totals = new Float64Array(minutes * 4)));
    for (let m = 0; m < minutes; m++) {
      const status = failingNow && m >= minutes - 20 ? 'failing' : kind !== undefined && m >= at && m < at + len ? kind : 'healthy';
      if (status === 'silent') continue;
      const cols = [status === 'healthy' ? MIN : 0, status === 'degraded' ? MIN : 0, status === 'failing' ? MIN : 0, 0] as const;
      insRollup.run(uid, start + m * MIN, cols[0], cols[1], cols[2], cols[3]);
      for (let k = 0; k < 4; k++) totals[m * 4 + k]! += cols[k]!;
      rows++;
    }
    const transitions: SeedTransition[] = [{ at: start, check: null, from: null, to: 'healthy', code: null }];
    if (kind) {
      const [from, to] = [start + at * MIN, start + (at + len) * MIN];
      transitions.push({ at: from, check: null, from: 'healthy', to: kind, code: null }, { at: to, check: null, from: kind, to: 'healthy', code: null });
      const bad = kind === 'failing' ? 'fail' : 'warn';
      if (kind !== 'silent') transitions.push({ at: from, check: 'dns-db', from: 'ok', to: bad, code: 'DNS_TIMEOUT' }, { at: to, check: 'dns-db', from: bad, to: 'ok', code: 'OK' });
    }
    if (failingNow) {
      const since = o.now - 20 * MIN;
      transitions.push({ at: since, check: null, from: 'healthy', to: 'failing', code: null }, { at: since, check: 'tcp-cache', from: 'ok', to: 'fail', code: 'TCP_REFUSED' });
    }
    for (const t of transitions) insTransition.run(uid, t.check, t.at, t.from, t.to, t.code);
    rows += transitions.length;
    insInstance.run(uid, 'bench', `${app}-${i}`, `node-${i % o.nodes}`, app, `tenant-${i % 5}`, '10.1.2.3', agent, randomUUID(), minutes * 6, 10_000, 0,
      start, o.now, o.now, failingNow ? 'failing' : 'healthy', failingNow ? o.now - 20 * MIN : start);
    insCheck.run(uid, 'dns-db', 'dns', 'ok', 'OK', null, start);
    insCheck.run(uid, 'tcp-cache', 'tcp', failingNow ? 'fail' : 'ok', failingNow ? 'TCP_REFUSED' : 'OK', failingNow ? 'connection refused' : null, start);
    insCheck.run(uid, 'http-api', 'http', 'ok', 'OK', null, start);
    rows += 4;
    if (i % 500 === 499) {
      db.exec('COMMIT');
      db.exec('BEGIN');
    }
  }
  for (const [app, t] of appTotals) {
    for (let m = 0; m < minutes; m++) insApp.run('bench', app, start + m * MIN, t[m * 4]!, t[m * 4 + 1]!, t[m * 4 + 2]!, t[m * 4 + 3]!);
    rows += minutes;
  }
  db.exec('COMMIT');
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  db.close();
  return { rows };
}
