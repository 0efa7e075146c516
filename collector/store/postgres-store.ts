import pg from 'pg';
import { PodpulseError } from '../../src/errors.ts';
import type { Heartbeat } from '../../src/protocol/heartbeat.ts';
import { planIngest, type InstanceSnapshot } from './ingest-plan.ts';
import { cmp, dedupValues, FOLD_APP_DELTAS, INGEST_READ, INGEST_WRITE_CHECKED, INGEST_WRITE_LOCKED, sortPlan, STALE_PLAN, writeValues } from './postgres-ingest-sql.ts';
import { PostgresInstanceCache } from './postgres-instance-cache.ts';
import { latestVersion } from './migrations/migration.ts';
import { POSTGRES_MIGRATIONS } from './migrations/postgres-migrations.ts';
import { prefixUpperBound, RecordConflictError, recordLimit, type ListRecordsOptions, type StoredRecord } from './record-store.ts';
import { decodeCursor, encodeCursor, pageSize, toCheck, toEvent, toInstance, toRecord, toTransition } from './rows.ts';
import type {
  CheckCount, CheckState, EventQuery, IngestOutcome, InstanceCount, SlaQuery, SlaTotals, InstanceQuery, InstanceStatus, Page, PruneResult, Retention, Rollup, RollupQuery,
  Store, StoredEvent, StoredInstance, Transition,
} from './store.ts';

export interface PostgresStoreOptions {
  /** `postgres://user@host:5432/db` */
  url: string;
  /** Schema holding the tables (created when missing); `public` by default. Tests use a fresh one per run. */
  schema?: string;
  /** Pool size, 10 by default. */
  maxConnections?: number;
  /** Instances whose state this replica keeps to plan batches without reading them (100,000 by default). */
  cachedInstances?: number;
}

type Row = Record<string, unknown>;
const RECORD_COLS = 'kind, id, version, body::text AS body, created_at, updated_at';
const INT8 = 20;
// Times and sequence numbers are BIGINT; they stay below 2^53, so numbers are exact. Per pool, not global.
const types = {
  getTypeParser: (oid: number, format?: string): ((v: string) => unknown) =>
    oid === INT8 ? (v: string) => Number(v) : (pg.types.getTypeParser(oid, format as 'text') as (v: string) => unknown),
};

/**
 * The shared store for several collector replicas, on `pg`. A batch is one autocommit statement (unnest arrays)
 * planned from this replica's cache of its instances and checked by row version, or, when that cannot apply, two
 * statements in a transaction: never one round trip per row, so throughput grows with batch size.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #schema: string;
  #folder: NodeJS.Timeout | undefined;
  #folding: Promise<unknown> | undefined;
  readonly #cache: PostgresInstanceCache;
  readonly #stats = { cached: 0, locked: 0, replanned: 0 };

  constructor(opts: PostgresStoreOptions) {
    this.#schema = opts.schema ?? 'public';
    this.#cache = new PostgresInstanceCache(opts.cachedInstances);
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.#schema)) throw new PodpulseError('PODPULSE_ERR_STORE', `invalid PostgreSQL schema name ${JSON.stringify(this.#schema)}`);
    this.#pool = new pg.Pool({ connectionString: opts.url, max: opts.maxConnections ?? 10, types, options: `-c search_path=${this.#schema}` });
    // An idle client losing its connection emits here; without a listener the process would crash.
    this.#pool.on('error', () => undefined);
  }

  async #tx<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw new PodpulseError('PODPULSE_ERR_STORE', `PostgreSQL ${what}: cannot connect: ${(err as Error).message}`, { cause: err });
    }
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      client.release();
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(err instanceof Error ? err : undefined);
      throw err instanceof PodpulseError ? err : new PodpulseError('PODPULSE_ERR_STORE', `PostgreSQL ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async #q(sql: string, args: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.#pool.query(sql, args)).rows as Row[];
    } catch (err) {
      throw new PodpulseError('PODPULSE_ERR_STORE', `PostgreSQL query failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async migrate(): Promise<void> {
    await this.#tx('migrate', async (c) => {
      // Replicas starting together: one migrates, the others wait here and then find nothing to do. The schema is
      // created under the lock too: CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent one (23505).
      await c.query('SELECT pg_advisory_xact_lock(7301940211)');
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      // By set, not by maximum: versions are reserved in ranges per area, so a lower one may arrive after a higher one.
      const applied = new Set(((await c.query('SELECT version FROM schema_migrations')).rows as Row[]).map((r) => Number(r.version)));
      for (const m of [...POSTGRES_MIGRATIONS].sort((x, y) => x.version - y.version)) {
        if (applied.has(m.version)) continue;
        for (const s of m.statements) await c.query(s);
        await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
      }
    });
    // Keeps the per-app delta table a few seconds deep (readers add it up, so this is housekeeping, not correctness).
    this.#folder ??= setInterval(() => {
      this.#folding ??= this.#pool.query(FOLD_APP_DELTAS).catch(() => undefined).finally(() => (this.#folding = undefined));
    }, 2000);
    this.#folder.unref();
  }

  async ready(): Promise<{ ok: boolean; reason?: string }> {
    try {
      const rows = await this.#q('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations');
      const v = Number(rows[0]?.v ?? 0);
      const want = latestVersion(POSTGRES_MIGRATIONS);
      return v === want ? { ok: true } : { ok: false, reason: `schema version ${v}, expected ${want}` };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  async ingest(heartbeats: readonly Heartbeat[], receivedAt: number): Promise<IngestOutcome[]> {
    // Every statement touches rows in one global order (by key), so overlapping transactions wait on each other
    // instead of deadlocking.
    const sorted = [...heartbeats].sort((a, b) => cmp(a.instance.podUid, b.instance.podUid) || cmp(a.bootId, b.bootId) || a.seq - b.seq);
    const pods = [...new Set(sorted.map((h) => h.instance.podUid.toLowerCase()))];
    return this.#cache.exclusive(pods, async () => {
      if (await this.#ingestCached(heartbeats, sorted, pods, receivedAt)) return heartbeats.map(() => ({ duplicate: false }));
      return this.#ingestLocked(heartbeats, sorted, receivedAt);
    });
  }

  /**
   * The fast path: plan from the replica's cache and write with ONE autocommit statement (one round trip, no
   * transaction left open between statements), every heartbeat new. True when committed; false when the batch
   * must take the locked path: an instance not cached, a late heartbeat, a repeat inside the batch, or the guard
   * found a duplicate or a row another writer moved (then nothing of the statement remains).
   */
  async #ingestCached(heartbeats: readonly Heartbeat[], sorted: readonly Heartbeat[], pods: readonly string[], receivedAt: number): Promise<boolean> {
    const snapshots = new Map<string, InstanceSnapshot>();
    const versions = new Map<string, number>();
    for (const u of pods) {
      const c = this.#cache.snapshot(u);
      if (!c) return false;
      snapshots.set(u, c.snap);
      versions.set(u, c.version);
    }
    for (let i = 1; i < sorted.length; i++) {
      const [a, b] = [sorted[i - 1]!, sorted[i]!];
      if (a.seq === b.seq && a.instance.podUid.toLowerCase() === b.instance.podUid.toLowerCase() && a.bootId.toLowerCase() === b.bootId.toLowerCase()) return false;
    }
    const plan = sortPlan(planIngest(lowerUids(heartbeats), receivedAt, snapshots));
    // A late heartbeat leaves its instance's row alone, so the version check would not cover what it was planned from.
    if (plan.instances.length !== pods.length) return false;
    try {
      await this.#pool.query({
        name: 'pp_ingest_checked',
        text: INGEST_WRITE_CHECKED,
        values: [...writeValues(plan, (u) => versions.get(u)! + 1), ...dedupValues(sorted, receivedAt)],
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      // Stale cache or a duplicate (PP409), or two replicas' batches crossing on the same rows: replan under lock.
      if (code === STALE_PLAN || code === '40P01' || code === '40001') {
        this.#stats.replanned++;
        for (const u of pods) this.#cache.forget(u);
        return false;
      }
      throw new PodpulseError('PODPULSE_ERR_STORE', `PostgreSQL ingest failed: ${(err as Error).message}`, { cause: err });
    }
    this.#stats.cached++;
    for (const u of pods) this.#cache.set(u, versions.get(u)! + 1, snapshots.get(u)!);
    return true;
  }

  /**
   * The locked path: BEGIN, one statement that claims the dedup keys and reads and locks the instances with their
   * checks, planning, one write statement, COMMIT. Used for instances this replica has not written yet, replays and
   * whatever the fast path's guard turned back; it refreshes the cache.
   */
  async #ingestLocked(heartbeats: readonly Heartbeat[], sorted: readonly Heartbeat[], receivedAt: number): Promise<IngestOutcome[]> {
    this.#stats.locked++;
    let c: pg.PoolClient;
    try {
      c = await this.#pool.connect();
    } catch (err) {
      throw new PodpulseError('PODPULSE_ERR_STORE', `PostgreSQL ingest: cannot connect: ${(err as Error).message}`, { cause: err });
    }
    try {
      await c.query('BEGIN');
      const key = (u: string, b: string, s: number | string) => `${u.toLowerCase()}|${b.toLowerCase()}|${s}`;
      const read = await c.query({ name: 'pp_ingest_read', text: INGEST_READ, values: dedupValues(sorted, receivedAt) });
      const got = read.rows[0] as { fresh: [string, string, number][] | null; inst: [string, number, number, number, string, number, number][] | null; checks: unknown[][] | null };
      const unclaimed = new Set((got.fresh ?? []).map(([u, b, s]) => key(u, b, s)));
      const fresh: Heartbeat[] = [];
      const outcomes = heartbeats.map((hb) => {
        const duplicate = !unclaimed.delete(key(hb.instance.podUid, hb.bootId, hb.seq));
        if (!duplicate) fresh.push(hb);
        return { duplicate };
      });
      if (fresh.length === 0) {
        await this.#commit(c);
        c.release();
        return outcomes;
      }

      const snapshots = new Map<string, InstanceSnapshot>();
      const versions = new Map<string, number>();
      for (const [podUid, firstSeen, lastSeen, lastSentAt, status, statusSince, version] of got.inst ?? []) {
        snapshots.set(podUid, { instance: { firstSeen, lastSeen, lastSentAt, status: status as InstanceStatus, statusSince }, checks: new Map() });
        versions.set(podUid, version);
      }
      for (const [podUid, checkId, kind, status, code, message, since] of got.checks ?? []) {
        snapshots.get(String(podUid))?.checks.set(String(checkId), toCheck({ pod_uid: podUid, check_id: checkId, kind, status, code, message, since }));
      }
      const plan = sortPlan(planIngest(lowerUids(fresh), receivedAt, snapshots));
      const write = await c.query({ name: 'pp_ingest_write', text: INGEST_WRITE_LOCKED, values: writeValues(plan, () => 1) });
      for (const r of write.rows as { pod_uid: string; version: number }[]) versions.set(r.pod_uid, r.version);
      await this.#commit(c);
      c.release();
      // Rows were locked from the read to the commit, so what was planned is what the database now holds.
      for (const [u, snap] of snapshots) {
        const v = versions.get(u);
        if (v !== undefined) this.#cache.set(u, v, snap);
      }
      return outcomes;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      c.release(err instanceof Error ? err : undefined);
      throw err instanceof PodpulseError ? err : new PodpulseError('PODPULSE_ERR_STORE', `PostgreSQL ingest failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async #commit(c: pg.PoolClient): Promise<void> {
    // A failed statement aborts the transaction and PostgreSQL answers the COMMIT with ROLLBACK: nothing is durable.
    const done = await c.query('COMMIT');
    if (done.command !== 'COMMIT') throw new PodpulseError('PODPULSE_ERR_STORE', `PostgreSQL ingest: the transaction ended with ${done.command}, not COMMIT`);
  }

  /** How batches were written since start: for tests and the benchmark's diagnosis. */
  get ingestPaths(): { cached: number; locked: number; replanned: number } {
    return { ...this.#stats };
  }

  async listInstances(q: InstanceQuery = {}): Promise<Page<StoredInstance>> {
    const where: string[] = [];
    const args: unknown[] = [];
    for (const [col, v] of [['namespace', q.namespace], ['app', q.app], ['tenant', q.tenant], ['node', q.node], ['status', q.status]] as const) {
      if (v !== undefined) {
      args.push(v);
      where.push(`${col} = $${args.length}`);
    }
    }
    if (q.cursor !== undefined) {
      args.push(decodeCursor(q.cursor, ['string'])[0]);
      where.push(`pod_uid > $${args.length}::uuid`);
    }
    const limit = pageSize(q.limit);
    const rows = (await this.#q(`SELECT * FROM instances ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY pod_uid LIMIT ${limit + 1}`, args)).map(toInstance);
    const items = rows.slice(0, limit);
    return rows.length > limit ? { items, nextCursor: encodeCursor([items[items.length - 1]!.podUid]) } : { items };
  }

  async getInstance(podUid: string): Promise<StoredInstance | undefined> {
    if (!isUuid(podUid)) return undefined;
    const r = (await this.#q('SELECT * FROM instances WHERE pod_uid = $1', [podUid]))[0];
    return r ? toInstance(r) : undefined;
  }

  async setInstanceStatus(podUid: string, status: InstanceStatus, at: number): Promise<void> {
    if (!isUuid(podUid)) return;
    await this.#tx('set instance status', async (c) => {
      const r = (await c.query('SELECT status FROM instances WHERE pod_uid = $1 FOR UPDATE', [podUid])).rows[0] as Row | undefined;
      if (!r || r.status === status) return;
      // The version moves with every write of the row, so a replica's cached copy of it stops matching.
      await c.query('UPDATE instances SET status = $1, status_since = $2, version = version + 1 WHERE pod_uid = $3', [status, at, podUid]);
      await c.query('INSERT INTO status_transitions (pod_uid, check_id, at, from_status, to_status, code) VALUES ($1, NULL, $2, $3, $4, NULL)', [podUid, at, r.status, status]);
    });
    this.#cache.forget(podUid.toLowerCase());
  }

  async listChecks(podUid: string): Promise<CheckState[]> {
    if (!isUuid(podUid)) return [];
    return (await this.#q('SELECT * FROM check_states WHERE pod_uid = $1 ORDER BY check_id', [podUid])).map(toCheck);
  }

  async listTransitions(podUid: string, opts: { since?: number; limit?: number } = {}): Promise<Transition[]> {
    if (!isUuid(podUid)) return [];
    const rows = await this.#q('SELECT * FROM status_transitions WHERE pod_uid = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT $3', [podUid, opts.since ?? 0, pageSize(opts.limit)]);
    return rows.map(toTransition);
  }

  async listRollups(q: RollupQuery): Promise<Rollup[]> {
    const args: unknown[] = [q.from, q.to];
    const where = ['r.minute >= $1', 'r.minute < $2'];
    if (q.podUid !== undefined) {
      if (!isUuid(q.podUid)) return [];
      args.push(q.podUid);
      where.push(`r.pod_uid = $${args.length}`);
    }
    if (q.app !== undefined) {
      args.push(q.app);
      where.push(`i.app = $${args.length}`);
    }
    if (q.namespace !== undefined) {
      args.push(q.namespace);
      where.push(`i.namespace = $${args.length}`);
    }
    const join = q.app !== undefined || q.namespace !== undefined ? 'JOIN instances i ON i.pod_uid = r.pod_uid' : '';
    const rows = await this.#q(`SELECT r.* FROM rollups_minute r ${join} WHERE ${where.join(' AND ')} ORDER BY r.pod_uid, r.minute`, args);
    return rows.map((r) => ({
      podUid: String(r.pod_uid), minute: Number(r.minute), okSeconds: Number(r.ok_ms) / 1000, degradedSeconds: Number(r.degraded_ms) / 1000,
      failingSeconds: Number(r.failing_ms) / 1000, unknownSeconds: Number(r.unknown_ms) / 1000,
    }));
  }

  async upsertEvent(e: StoredEvent): Promise<void> {
    await this.#q(`INSERT INTO events (id, fingerprint, type, status, severity, app, tenant, subject, body, created_at, updated_at, resolved_at)
      VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9::jsonb,$10,$11,$12) ON CONFLICT (id) DO UPDATE SET fingerprint=excluded.fingerprint, type=excluded.type,
      status=excluded.status, severity=excluded.severity, app=excluded.app, tenant=excluded.tenant, subject=excluded.subject,
      body=excluded.body, updated_at=excluded.updated_at, resolved_at=excluded.resolved_at`,
    [e.id, e.fingerprint, e.type, e.status, e.severity, e.app, e.tenant, e.subject, JSON.stringify(e.body), e.createdAt, e.updatedAt, e.resolvedAt]);
  }

  async listEvents(q: EventQuery = {}): Promise<Page<StoredEvent>> {
    const where: string[] = [];
    const args: unknown[] = [];
    for (const [col, v] of [['status', q.status], ['app', q.app], ['type', q.type], ['fingerprint', q.fingerprint]] as const) {
      if (v !== undefined) {
      args.push(v);
      where.push(`${col} = $${args.length}`);
    }
    }
    if (q.cursor !== undefined) {
      const [at, id] = decodeCursor(q.cursor, ['number', 'string']);
      args.push(at, id);
      where.push(`(updated_at, id) < ($${args.length - 1}, $${args.length})`);
    }
    const limit = pageSize(q.limit);
    const rows = (await this.#q(`SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY updated_at DESC, id DESC LIMIT ${limit + 1}`, args)).map(toEvent);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return rows.length > limit && last ? { items, nextCursor: encodeCursor([last.updatedAt, last.id]) } : { items };
  }

  async getWatermark(key: string): Promise<string | undefined> {
    const r = (await this.#q('SELECT value FROM watermarks WHERE key = $1', [key]))[0];
    return r ? String(r.value) : undefined;
  }

  async setWatermark(key: string, value: string): Promise<void> {
    await this.#q('INSERT INTO watermarks (key, value, updated_at) VALUES ($1,$2,$3) ON CONFLICT (key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at', [key, value, Date.now()]);
  }

  async countInstances(q: { namespace?: string; app?: string; tenant?: string } = {}): Promise<InstanceCount[]> {
    const { where, args } = equalities([['namespace', q.namespace], ['app', q.app], ['tenant', q.tenant]]);
    const rows = await this.#q(`SELECT app, status, COUNT(*) AS n FROM instances ${where} GROUP BY app, status ORDER BY app, status`, args);
    return rows.map((r) => ({ app: String(r.app), status: String(r.status) as InstanceStatus, count: Number(r.n) }));
  }

  async countChecks(): Promise<CheckCount[]> {
    const rows = await this.#q(`SELECT c.kind, c.code, c.status, COUNT(*) AS n FROM check_states c JOIN instances i ON i.pod_uid = c.pod_uid
      WHERE c.status <> 'ok' AND i.status NOT IN ('silent', 'retired') GROUP BY c.kind, c.code, c.status ORDER BY c.kind, c.code, c.status`);
    return rows.map((r) => ({ kind: String(r.kind), code: String(r.code), status: String(r.status) as CheckCount['status'], count: Number(r.n) }));
  }

  async slaTotals(q: SlaQuery): Promise<SlaTotals> {
    const { where, args } = equalities([['app', q.app], ['namespace', q.namespace]], 3);
    const and = where ? `${where} AND` : 'WHERE';
    const [cov, ex] = await Promise.all([
      // Folded rollups plus the deltas not folded yet.
      this.#q(`SELECT COALESCE(SUM(ok_ms), 0) AS ok, COALESCE(SUM(degraded_ms), 0) AS degraded, COALESCE(SUM(failing_ms), 0) AS failing,
        COALESCE(SUM(unknown_ms), 0) AS unknown FROM (SELECT * FROM rollups_app_minute UNION ALL SELECT * FROM rollups_app_minute_delta) r
        ${and} minute >= $1 AND minute < $2`, [q.from, q.to, ...args]),
      // An instance exists from the interval its first heartbeat vouched for until it was retired (or the window ends).
      this.#q(`SELECT COUNT(*) AS n, COALESCE(SUM(GREATEST(0, LEAST($2, CASE WHEN status = 'retired' THEN status_since ELSE $2 END)
        - GREATEST($1, first_seen - interval_ms))), 0) AS existed FROM instances ${and} first_seen - interval_ms < $2 AND (status <> 'retired' OR status_since > $1)`,
      [q.from, q.to, ...args]),
    ]);
    const c = cov[0]!;
    const e = ex[0]!;
    return {
      okSeconds: Number(c.ok) / 1000, degradedSeconds: Number(c.degraded) / 1000, failingSeconds: Number(c.failing) / 1000,
      unknownSeconds: Number(c.unknown) / 1000, existedSeconds: Number(e.existed) / 1000, instances: Number(e.n),
    };
  }

  prune(r: Retention, now: number): Promise<PruneResult> {
    return this.#tx('prune', async (c) => {
      let deleted = 0;
      const run = async (sql: string, cutoff: number): Promise<void> => {
        deleted += (await c.query(sql, [cutoff])).rowCount ?? 0;
      };
      await run('DELETE FROM status_transitions WHERE at < $1', now - r.transitionsMs);
      await run('DELETE FROM rollups_minute WHERE minute < $1', now - r.rollupsMs);
      await run('DELETE FROM rollups_app_minute WHERE minute < $1', now - r.rollupsMs);
      await run('DELETE FROM rollups_app_minute_delta WHERE minute < $1', now - r.rollupsMs);
      await run("DELETE FROM events WHERE status = 'resolved' AND updated_at < $1", now - r.eventsMs);
      await run('DELETE FROM heartbeat_dedup WHERE received_at < $1', now - r.dedupMs);
      await run('DELETE FROM check_states WHERE pod_uid IN (SELECT pod_uid FROM instances WHERE last_seen < $1)', now - r.instancesMs);
      await run('DELETE FROM instances WHERE last_seen < $1', now - r.instancesMs);
      return { deleted };
    }).finally(() => this.#cache.forgetSeenBefore(now - r.instancesMs));
  }

  async getRecord<T>(kind: string, id: string): Promise<StoredRecord<T> | undefined> {
    const r = (await this.#q(`SELECT ${RECORD_COLS} FROM records WHERE kind = $1 AND id = $2`, [kind, id]))[0];
    return r ? toRecord<T>(r) : undefined;
  }

  async putRecord<T>(kind: string, id: string, body: T, opts: { expectedVersion?: number } = {}): Promise<StoredRecord<T>> {
    const now = Date.now();
    const json = JSON.stringify(body);
    const ev = opts.expectedVersion;
    // One statement each, so the version check and the write are atomic against other replicas.
    const rows = ev === 0
      ? await this.#q(`INSERT INTO records (kind, id, version, body, created_at, updated_at) VALUES ($1,$2,1,$3::jsonb,$4,$4)
          ON CONFLICT DO NOTHING RETURNING ${RECORD_COLS}`, [kind, id, json, now])
      : ev !== undefined
        ? await this.#q(`UPDATE records SET version = version + 1, body = $1::jsonb, updated_at = $2 WHERE kind = $3 AND id = $4 AND version = $5
            RETURNING ${RECORD_COLS}`, [json, now, kind, id, ev])
        : await this.#q(`INSERT INTO records (kind, id, version, body, created_at, updated_at) VALUES ($1,$2,1,$3::jsonb,$4,$4)
            ON CONFLICT (kind, id) DO UPDATE SET version = records.version + 1, body = excluded.body, updated_at = excluded.updated_at
            RETURNING ${RECORD_COLS}`, [kind, id, json, now]);
    const r = rows[0];
    if (!r) throw new RecordConflictError(kind, id, ev ?? 0);
    return toRecord<T>(r);
  }

  async listRecords<T>(kind: string, opts: ListRecordsOptions = {}): Promise<StoredRecord<T>[]> {
    const where = ['kind = $1'];
    const args: string[] = [kind];
    if (opts.idPrefix) {
      args.push(opts.idPrefix, prefixUpperBound(opts.idPrefix));
      where.push(`id >= $${args.length - 1}`, `id < $${args.length}`);
    }
    if (opts.after !== undefined) {
      args.push(opts.after);
      where.push(`id ${opts.reverse ? '<' : '>'} $${args.length}`);
    }
    const sql = `SELECT ${RECORD_COLS} FROM records WHERE ${where.join(' AND ')} ORDER BY id ${opts.reverse ? 'DESC' : 'ASC'} LIMIT ${recordLimit(opts.limit)}`;
    return (await this.#q(sql, args)).map((r) => toRecord<T>(r));
  }

  async deleteRecord(kind: string, id: string): Promise<boolean> {
    return (await this.#q('DELETE FROM records WHERE kind = $1 AND id = $2 RETURNING id', [kind, id])).length > 0;
  }

  async close(): Promise<void> {
    clearInterval(this.#folder);
    await this.#folding;
    await this.#pool.end();
  }
}

/** `WHERE col = $n AND ...` for the (column, value) pairs whose value is set, numbering from `first`. */
function equalities(pairs: readonly (readonly [string, string | undefined])[], first = 1): { where: string; args: string[] } {
  const set = pairs.filter((p): p is readonly [string, string] => p[1] !== undefined);
  return { where: set.length ? `WHERE ${set.map(([c], i) => `${c} = $${first + i}`).join(' AND ')}` : '', args: set.map(([, v]) => v) };
}


/** Pod uids compare lower-case everywhere (the uuid type does; the plan and the cache key by string). */
function lowerUids(hbs: readonly Heartbeat[]): Heartbeat[] {
  return hbs.map((h) => (h.instance.podUid === h.instance.podUid.toLowerCase() ? h : { ...h, instance: { ...h.instance, podUid: h.instance.podUid.toLowerCase() } }));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A malformed uid would be a PostgreSQL cast error; it simply matches nothing, as in SQLite. */
const isUuid = (s: string): boolean => UUID.test(s);
