import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { PodpulseError } from '../../src/errors.ts';
import type { Heartbeat } from '../../src/protocol/heartbeat.ts';
import { planIngest, type InstanceSnapshot, type PriorInstance } from './ingest-plan.ts';
import { SqliteCheckpointer } from './sqlite-checkpointer.ts';
import { SqliteDeferredWrites } from './sqlite-deferred-writes.ts';
import { writeStateChanges } from './sqlite-ingest-writes.ts';
import { instancePageQuery } from './sqlite-instance-query.ts';
import { latestVersion } from './migrations/migration.ts';
import { SQLITE_MIGRATIONS } from './migrations/sqlite-migrations.ts';
import { prefixUpperBound, RecordConflictError, recordLimit, type ListRecordsOptions, type StoredRecord } from './record-store.ts';
import { decodeCursor, encodeCursor, pageSize, toCheck, toEvent, toInstance, toRecord, toTransition } from './rows.ts';
import type {
  CheckCount, CheckState, EventQuery, IngestOutcome, InstanceCount, SlaQuery, SlaTotals, InstanceQuery, InstanceStatus, Page, PruneResult, Retention, Rollup, RollupQuery,
  Store, StoredEvent, StoredInstance, Transition,
} from './store.ts';

export interface SqliteStoreOptions {
  /** Database file; its directory is created. `:memory:` only for throwaway use (nothing is durable). */
  path: string;
  /**
   * `normal` (default): WAL without an fsync per commit; a committed transaction survives the process being killed
   * (the WAL is in the OS page cache), not a power loss. `full`: fsync per commit, survives power loss, slower.
   * See docs/adr/0004-store-durability.md.
   */
  synchronous?: 'normal' | 'full';
  /** Instances whose current state is kept in memory between batches (bounded; the rest is read from the file). */
  cacheInstances?: number;
  /**
   * How often the deferred part of ingest (dedup ranges, rollups, last seen) is folded from the heartbeat log into
   * its tables, in ms (default 1000). Reads that depend on it fold first, so it is never visible.
   */
  flushEveryMs?: number;
}

type Row = Record<string, unknown>;

/**
 * One instance in the store's cache: only what planning reads, so 10,000 cached instances cost a few hundred bytes
 * each rather than a whole row (agent state, pod metadata) and a Map of checks.
 */
interface CachedInstance extends PriorInstance {
  checks: CheckState[];
  /** The row's columns that only a state change moves (identity, agent, boot); see `stateKey`. */
  state: number;
}

function toCached(prior: PriorInstance, checks: Map<string, CheckState>, state: number): CachedInstance {
  const { firstSeen, lastSeen, lastSentAt, status, statusSince } = prior;
  return { firstSeen, lastSeen, lastSentAt, status, statusSince, checks: [...checks.values()], state };
}

/**
 * Every column of an instance row except last seq / seen / sent at and dropped, hashed to 53 bits (cyrb53): when a
 * heartbeat leaves it unchanged, the row's update can wait for the flush; otherwise the commit writes the row. A
 * number, not the string, because one is cached per instance (the string is ~350 bytes, 3.5 MB at 10,000); a
 * collision (2^-53 per change) would leave that change unwritten until the instance's next one.
 */
function stateKey(i: StoredInstance): number {
  return cyrb53(`${i.namespace}\u0000${i.pod}\u0000${i.node}\u0000${i.app}\u0000${i.tenant}\u0000${i.podIp}\u0000${i.bootId}\u0000${i.intervalMs}\u0000${i.firstSeen}\u0000${i.status}\u0000${i.statusSince}\u0000${JSON.stringify(i.agent)}`);
}

function cyrb53(str: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * The embedded store on node:sqlite. DatabaseSync is synchronous: a group-committed batch is one short transaction
 * on the event loop (a few ms for hundreds of heartbeats), which costs less than hopping to a worker thread.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly #db: DatabaseSync;
  readonly #stmts = new Map<string, StatementSync>();
  /**
   * Current state of recently seen instances, so a heartbeat costs no reads. Coherent because this process is the
   * only writer of the file; entries of a failed transaction are dropped (planIngest advances them in place).
   */
  readonly #snapshots = new Map<string, CachedInstance>();
  readonly #cacheMax: number;
  readonly #checkpointer: SqliteCheckpointer | undefined;
  readonly #deferred = new SqliteDeferredWrites();
  readonly #flushTimer: NodeJS.Timeout;

  constructor(opts: SqliteStoreOptions) {
    this.#cacheMax = opts.cacheInstances ?? 50_000;
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    try {
      this.#db = new DatabaseSync(opts.path);
      this.#db.exec('PRAGMA journal_mode = WAL');
      this.#db.exec(`PRAGMA synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      this.#db.exec('PRAGMA busy_timeout = 5000');
      // Memory the collector's resident size answers for: SQLite's page cache is heap (anonymous RSS) and pages read
      // through mmap count as file-backed RSS, growing with the file. A miss in 4 MB of cache is a pread served from
      // the OS page cache, outside the process (microseconds); a 10,000-instance fleet touches a few pages per
      // heartbeat (see docs/collector-memory.md).
      this.#db.exec('PRAGMA cache_size = -4096');
      this.#db.exec('PRAGMA mmap_size = 0');
      this.#db.exec('PRAGMA temp_store = MEMORY');
      // Checkpoints run in a worker thread (sqlite-checkpointer.ts); the writer only checkpoints itself as a safety
      // net if the WAL ever reaches ~200 MB (the worker died or cannot keep up).
      this.#db.exec('PRAGMA wal_autocheckpoint = 50000');
      this.#db.exec('PRAGMA journal_size_limit = 67108864');
    } catch (err) {
      throw new PodpulseError('PODPULSE_ERR_STORE', `cannot open SQLite store ${opts.path}: ${(err as Error).message}`, { cause: err });
    }
    this.#checkpointer = opts.path === ':memory:' ? undefined : new SqliteCheckpointer(opts.path);
    this.#flushTimer = setInterval(() => {
      try {
        this.#flush();
      } catch {
        // Busy or failing disk: the log and memory still hold everything, and the next tick (or read) retries.
      }
    }, opts.flushEveryMs ?? 1000);
    this.#flushTimer.unref();
  }

  /** #flush for a method that answers with a promise: a failure becomes its rejection, not a throw. */
  #flushForRead(): Error | undefined {
    try {
      this.#flush();
      return undefined;
    } catch (err) {
      return new PodpulseError('PODPULSE_ERR_STORE', `SQLite flush failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Folds the deferred part of ingest into its tables, in one transaction (a no-op when nothing is pending). */
  #flush(): void {
    if (!this.#db.isOpen || !this.#deferred.dirty) return;
    const done = this.#tx(() => this.#deferred.flush(this.#prepare));
    done();
  }

  #stmt(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (!s) this.#stmts.set(sql, (s = this.#db.prepare(sql)));
    return s;
  }

  readonly #prepare = (sql: string): StatementSync => this.#stmt(sql);

  #tx<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  #version(): number {
    this.#db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const r = this.#db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as Row;
    return Number(r.v);
  }

  migrate(): Promise<void> {
    this.#version();
    // By set, not by maximum: versions are reserved in ranges per area, so a lower one may arrive after a higher one.
    const applied = new Set((this.#db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => Number(r.version)));
    for (const m of [...SQLITE_MIGRATIONS].sort((x, y) => x.version - y.version)) {
      if (applied.has(m.version)) continue;
      this.#tx(() => {
        for (const s of m.statements) this.#db.exec(s);
        this.#db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      });
    }
    // Heartbeats acknowledged before a crash whose deferred part was not folded yet: fold it now, before serving.
    if (this.#deferred.recover(this.#prepare) > 0) {
      this.#flush();
      this.#deferred.forgetPairs();
    }
    return Promise.resolve();
  }

  ready(): Promise<{ ok: boolean; reason?: string }> {
    try {
      const v = this.#version();
      const want = latestVersion(SQLITE_MIGRATIONS);
      return Promise.resolve(v === want ? { ok: true } : { ok: false, reason: `schema version ${v}, expected ${want}` });
    } catch (err) {
      return Promise.resolve({ ok: false, reason: (err as Error).message });
    }
  }

  ingest(heartbeats: readonly Heartbeat[], receivedAt: number): Promise<IngestOutcome[]> {
    try {
      const { outcomes, committed } = this.#tx(() => this.#ingest(heartbeats, receivedAt));
      committed();
      return Promise.resolve(outcomes);
    } catch (err) {
      for (const hb of heartbeats) this.#snapshots.delete(hb.instance.podUid);
      return Promise.reject(new PodpulseError('PODPULSE_ERR_STORE', `SQLite ingest failed: ${(err as Error).message}`, { cause: err }));
    }
  }

  /** The batch's transaction body; `committed` records in memory what the commit made true (called after it). */
  #ingest(heartbeats: readonly Heartbeat[], receivedAt: number): { outcomes: IngestOutcome[]; committed: () => void } {
    const { outcomes, fresh } = this.#deferred.claim(this.#prepare, heartbeats);
    if (fresh.length === 0) return { outcomes, committed: () => undefined };
    const snapshots = new Map<string, InstanceSnapshot>();
    /** The state key of each instance before this batch; absent for a new one. */
    const before = new Map<string, number>();
    const getInstance = this.#stmt('SELECT * FROM instances WHERE pod_uid = ?');
    const getChecks = this.#stmt('SELECT * FROM check_states WHERE pod_uid = ?');
    for (const hb of fresh) {
      const uid = hb.instance.podUid;
      if (snapshots.has(uid)) continue;
      const cached = this.#snapshots.get(uid);
      let snap: InstanceSnapshot;
      if (cached) {
        this.#snapshots.delete(uid);
        snap = { instance: cached, checks: new Map(cached.checks.map((c) => [c.checkId, c])) };
        before.set(uid, cached.state);
      } else {
        // A row with an unflushed last-seen is newer in memory than in the table; its checks are always current.
        const stored = getInstance.get(uid) as Row | undefined;
        const row = this.#deferred.liveRow(uid) ?? (stored ? toInstance(stored) : undefined);
        const checks = new Map<string, CheckState>();
        if (row) for (const c of getChecks.all(uid) as Row[]) checks.set(String(c.check_id), toCheck(c));
        snap = { instance: row, checks };
        if (row) before.set(uid, stateKey(row));
      }
      snapshots.set(uid, snap);
    }
    const plan = planIngest(fresh, receivedAt, snapshots);
    const written: StoredInstance[] = [];
    const live: StoredInstance[] = [];
    const states = new Map<string, number>();
    for (const row of plan.instances) {
      const state = stateKey(row);
      states.set(row.podUid, state);
      (before.get(row.podUid) === state ? live : written).push(row);
    }
    // Re-insert as most recently used; the oldest fall out past the bound.
    for (const [uid, snap] of snapshots) {
      if (snap.instance) this.#snapshots.set(uid, toCached(snap.instance, snap.checks, states.get(uid) ?? before.get(uid)!));
    }
    while (this.#snapshots.size > this.#cacheMax) this.#snapshots.delete(this.#snapshots.keys().next().value!);
    writeStateChanges(this.#prepare, plan, written);
    this.#deferred.appendLog(this.#prepare, fresh, receivedAt);
    return { outcomes, committed: () => this.#deferred.committed(fresh, receivedAt, plan, written, live) };
  }

  listInstances(q: InstanceQuery = {}): Promise<Page<StoredInstance>> {
    return settle(() => {
      this.#flush();
      return this.#listInstances(q);
    });
  }

  #listInstances(q: InstanceQuery): Page<StoredInstance> {
    const limit = pageSize(q.limit);
    const { sql, args } = instancePageQuery(q);
    const rows = (this.#stmt(sql).all(...args, limit + 1) as Row[]).map(toInstance);
    const more = rows.length > limit;
    const items = rows.slice(0, limit);
    return more ? { items, nextCursor: encodeCursor([items[items.length - 1]!.podUid]) } : { items };
  }

  getInstance(podUid: string): Promise<StoredInstance | undefined> {
    // Last seen of an instance is deferred: fold it in first. (A read of the API or the control plane, not per heartbeat.)
    const unflushed = this.#flushForRead();
    if (unflushed) return Promise.reject(unflushed);
    const r = this.#stmt('SELECT * FROM instances WHERE pod_uid = ?').get(podUid) as Row | undefined;
    return Promise.resolve(r ? toInstance(r) : undefined);
  }

  setInstanceStatus(podUid: string, status: InstanceStatus, at: number): Promise<void> {
    // The table's status is current without a flush: a commit writes every row whose status changed, and only
    // last-seen fields wait. Most calls change nothing (the heartbeat already carried probe-broken), and a flush per
    // call made a fleet-wide wave of broken probes fold the deferred writes once per batch instead of once a second.
    const current = this.#stmt('SELECT status FROM instances WHERE pod_uid = ?').get(podUid) as Row | undefined;
    if (!current || current.status === status) return Promise.resolve();
    // After the flush the table is the whole truth, so the cache entry can simply be dropped.
    const unflushed = this.#flushForRead();
    if (unflushed) return Promise.reject(unflushed);
    // The flush moves no status, and nothing else runs in between: `current` is still the row's status.
    this.#tx(() => {
      this.#snapshots.delete(podUid);
      this.#stmt('UPDATE instances SET status = ?, status_since = ? WHERE pod_uid = ?').run(status, at, podUid);
      this.#stmt('INSERT INTO status_transitions (pod_uid, check_id, at, from_status, to_status, code) VALUES (?,?,?,?,?,?)').run(podUid, null, at, String(current.status), status, null);
    });
    return Promise.resolve();
  }

  listChecks(podUid: string): Promise<CheckState[]> {
    return Promise.resolve((this.#stmt('SELECT * FROM check_states WHERE pod_uid = ? ORDER BY check_id').all(podUid) as Row[]).map(toCheck));
  }

  listTransitions(podUid: string, opts: { since?: number; limit?: number } = {}): Promise<Transition[]> {
    const rows = this.#stmt('SELECT * FROM status_transitions WHERE pod_uid = ? AND at >= ? ORDER BY at DESC, id DESC LIMIT ?')
      .all(podUid, opts.since ?? 0, pageSize(opts.limit)) as Row[];
    return Promise.resolve(rows.map(toTransition));
  }

  listRollups(q: RollupQuery): Promise<Rollup[]> {
    const unflushed = this.#flushForRead();
    if (unflushed) return Promise.reject(unflushed);
    const where = ['r.minute >= ?', 'r.minute < ?'];
    const args: (string | number)[] = [q.from, q.to];
    if (q.podUid !== undefined) {
      where.push('r.pod_uid = ?');
      args.push(q.podUid);
    }
    if (q.app !== undefined) {
      where.push('i.app = ?');
      args.push(q.app);
    }
    if (q.namespace !== undefined) {
      where.push('i.namespace = ?');
      args.push(q.namespace);
    }
    const join = q.app !== undefined || q.namespace !== undefined ? 'JOIN instances i ON i.pod_uid = r.pod_uid' : '';
    const rows = this.#stmt(`SELECT r.* FROM rollups_minute r ${join} WHERE ${where.join(' AND ')} ORDER BY r.pod_uid, r.minute`).all(...args) as Row[];
    return Promise.resolve(rows.map((r) => ({
      podUid: String(r.pod_uid), minute: Number(r.minute), okSeconds: Number(r.ok_ms) / 1000, degradedSeconds: Number(r.degraded_ms) / 1000,
      failingSeconds: Number(r.failing_ms) / 1000, unknownSeconds: Number(r.unknown_ms) / 1000,
    })));
  }

  upsertEvent(e: StoredEvent): Promise<void> {
    this.#stmt(`INSERT INTO events (id, fingerprint, type, status, severity, app, tenant, subject, body, created_at, updated_at, resolved_at)
      VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET fingerprint=excluded.fingerprint, type=excluded.type,
      status=excluded.status, severity=excluded.severity, app=excluded.app, tenant=excluded.tenant, subject=excluded.subject,
      body=excluded.body, updated_at=excluded.updated_at, resolved_at=excluded.resolved_at`)
      .run(e.id, e.fingerprint, e.type, e.status, e.severity, e.app, e.tenant, e.subject, JSON.stringify(e.body), e.createdAt, e.updatedAt, e.resolvedAt);
    return Promise.resolve();
  }

  listEvents(q: EventQuery = {}): Promise<Page<StoredEvent>> {
    return settle(() => this.#listEvents(q));
  }

  #listEvents(q: EventQuery): Page<StoredEvent> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    for (const [col, v] of [['status', q.status], ['app', q.app], ['type', q.type], ['fingerprint', q.fingerprint]] as const) {
      if (v !== undefined) {
      where.push(`${col} = ?`);
      args.push(v);
    }
    }
    if (q.cursor !== undefined) {
      const [at, id] = decodeCursor(q.cursor, ['number', 'string']);
      where.push('(updated_at < ? OR (updated_at = ? AND id < ?))');
      args.push(at!, at!, id!);
    }
    const limit = pageSize(q.limit);
    const rows = (this.#stmt(`SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY updated_at DESC, id DESC LIMIT ${limit + 1}`)
      .all(...args) as Row[]).map(toEvent);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return rows.length > limit && last ? { items, nextCursor: encodeCursor([last.updatedAt, last.id]) } : { items };
  }

  getWatermark(key: string): Promise<string | undefined> {
    const r = this.#stmt('SELECT value FROM watermarks WHERE key = ?').get(key) as Row | undefined;
    return Promise.resolve(r ? String(r.value) : undefined);
  }

  setWatermark(key: string, value: string): Promise<void> {
    this.#stmt('INSERT INTO watermarks (key, value, updated_at) VALUES (?,?,?) ON CONFLICT (key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at')
      .run(key, value, Date.now());
    return Promise.resolve();
  }

  countInstances(q: { namespace?: string; app?: string; tenant?: string } = {}): Promise<InstanceCount[]> {
    return settle(() => {
      const { where, args } = equalities([['namespace', q.namespace], ['app', q.app], ['tenant', q.tenant]]);
      const rows = this.#stmt(`SELECT app, status, COUNT(*) AS n FROM instances ${where} GROUP BY app, status ORDER BY app, status`).all(...args) as Row[];
      return rows.map((r) => ({ app: String(r.app), status: String(r.status) as InstanceStatus, count: Number(r.n) }));
    });
  }

  countChecks(): Promise<CheckCount[]> {
    return settle(() => {
      const rows = this.#stmt(`SELECT c.kind, c.code, c.status, COUNT(*) AS n FROM check_states c JOIN instances i ON i.pod_uid = c.pod_uid
        WHERE c.status <> 'ok' AND i.status NOT IN ('silent', 'retired') GROUP BY c.kind, c.code, c.status ORDER BY c.kind, c.code, c.status`).all() as Row[];
      return rows.map((r) => ({ kind: String(r.kind), code: String(r.code), status: String(r.status) as CheckCount['status'], count: Number(r.n) }));
    });
  }

  slaTotals(q: SlaQuery): Promise<SlaTotals> {
    return settle(() => {
      this.#flush();
      const { where, args } = equalities([['app', q.app], ['namespace', q.namespace]]);
      const and = where ? `${where} AND` : 'WHERE';
      const cov = this.#stmt(`SELECT COALESCE(SUM(ok_ms), 0) AS ok, COALESCE(SUM(degraded_ms), 0) AS degraded, COALESCE(SUM(failing_ms), 0) AS failing,
        COALESCE(SUM(unknown_ms), 0) AS unknown FROM rollups_app_minute ${and} minute >= ? AND minute < ?`).get(...args, q.from, q.to) as Row;
      // An instance exists from the interval its first heartbeat vouched for until it was retired (or the window ends).
      const ex = this.#stmt(`SELECT COUNT(*) AS n, COALESCE(SUM(MAX(0, MIN(?, CASE WHEN status = 'retired' THEN status_since ELSE ? END)
        - MAX(?, first_seen - interval_ms))), 0) AS existed FROM instances ${and} first_seen - interval_ms < ? AND (status <> 'retired' OR status_since > ?)`)
        .get(q.to, q.to, q.from, ...args, q.to, q.from) as Row;
      return {
        okSeconds: Number(cov.ok) / 1000, degradedSeconds: Number(cov.degraded) / 1000, failingSeconds: Number(cov.failing) / 1000,
        unknownSeconds: Number(cov.unknown) / 1000, existedSeconds: Number(ex.existed) / 1000, instances: Number(ex.n),
      };
    });
  }

  prune(r: Retention, now: number): Promise<PruneResult> {
    const unflushed = this.#flushForRead();
    if (unflushed) return Promise.reject(unflushed);
    this.#snapshots.clear();
    const deleted = this.#tx(() => {
      let n = 0;
      const run = (sql: string, cutoff: number): void => {
        n += Number(this.#stmt(sql).run(cutoff).changes);
      };
      run('DELETE FROM status_transitions WHERE at < ?', now - r.transitionsMs);
      run('DELETE FROM rollups_minute WHERE minute < ?', now - r.rollupsMs);
      run('DELETE FROM rollups_app_minute WHERE minute < ?', now - r.rollupsMs);
      run("DELETE FROM events WHERE status = 'resolved' AND updated_at < ?", now - r.eventsMs);
      run('DELETE FROM heartbeat_seq_ranges WHERE received_at < ?', now - r.dedupMs);
      run('DELETE FROM check_states WHERE pod_uid IN (SELECT pod_uid FROM instances WHERE last_seen < ?)', now - r.instancesMs);
      run('DELETE FROM instances WHERE last_seen < ?', now - r.instancesMs);
      return n;
    });
    // Memory must not answer for seq ranges the table no longer has: pairs are re-read on their next heartbeat.
    this.#deferred.forgetPairs();
    return Promise.resolve({ deleted });
  }

  getRecord<T>(kind: string, id: string): Promise<StoredRecord<T> | undefined> {
    return settle(() => {
      const r = this.#stmt('SELECT * FROM records WHERE kind = ? AND id = ?').get(kind, id) as Row | undefined;
      return r ? toRecord<T>(r) : undefined;
    });
  }

  putRecord<T>(kind: string, id: string, body: T, opts: { expectedVersion?: number } = {}): Promise<StoredRecord<T>> {
    return settle(() => {
      const now = Date.now();
      const json = JSON.stringify(body);
      const ev = opts.expectedVersion;
      // One statement each, so the version check and the write cannot be split by another writer.
      const r = ev === 0
        ? this.#stmt('INSERT INTO records (kind, id, version, body, created_at, updated_at) VALUES (?,?,1,?,?,?) ON CONFLICT DO NOTHING RETURNING *')
          .get(kind, id, json, now, now)
        : ev !== undefined
          ? this.#stmt('UPDATE records SET version = version + 1, body = ?, updated_at = ? WHERE kind = ? AND id = ? AND version = ? RETURNING *')
            .get(json, now, kind, id, ev)
          : this.#stmt(`INSERT INTO records (kind, id, version, body, created_at, updated_at) VALUES (?,?,1,?,?,?)
              ON CONFLICT (kind, id) DO UPDATE SET version = version + 1, body = excluded.body, updated_at = excluded.updated_at RETURNING *`)
            .get(kind, id, json, now, now);
      if (!r) throw new RecordConflictError(kind, id, ev ?? 0);
      return toRecord<T>(r);
    });
  }

  listRecords<T>(kind: string, opts: ListRecordsOptions = {}): Promise<StoredRecord<T>[]> {
    return settle(() => {
      const where = ['kind = ?'];
      const args: string[] = [kind];
      if (opts.idPrefix) {
        where.push('id >= ?', 'id < ?');
        args.push(opts.idPrefix, prefixUpperBound(opts.idPrefix));
      }
      if (opts.after !== undefined) {
        where.push(opts.reverse ? 'id < ?' : 'id > ?');
        args.push(opts.after);
      }
      const sql = `SELECT * FROM records WHERE ${where.join(' AND ')} ORDER BY id ${opts.reverse ? 'DESC' : 'ASC'} LIMIT ${recordLimit(opts.limit)}`;
      return (this.#stmt(sql).all(...args) as Row[]).map((r) => toRecord<T>(r));
    });
  }

  deleteRecord(kind: string, id: string): Promise<boolean> {
    return settle(() => Number(this.#stmt('DELETE FROM records WHERE kind = ? AND id = ?').run(kind, id).changes) > 0);
  }

  async close(): Promise<void> {
    clearInterval(this.#flushTimer);
    await this.#checkpointer?.close();
    if (this.#db.isOpen) {
      this.#flush();
      // Leave a checkpointed file behind: a restart then starts with an empty WAL.
      this.#db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      this.#db.close();
    }
  }
}

/** `WHERE col = ? AND ...` for the given (column, value) pairs whose value is set. */
function equalities(pairs: readonly (readonly [string, string | undefined])[]): { where: string; args: string[] } {
  const set = pairs.filter((p): p is readonly [string, string] => p[1] !== undefined);
  return { where: set.length ? `WHERE ${set.map(([c]) => `${c} = ?`).join(' AND ')}` : '', args: set.map(([, v]) => v) };
}

/** Runs synchronous work and turns a throw into a rejection, as an async store would. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
