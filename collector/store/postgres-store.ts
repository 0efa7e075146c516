import pg from 'pg';
import { PodpulseError } from '../../src/errors.ts';
import type { Heartbeat } from '../../src/protocol/heartbeat.ts';
import { planIngest, type InstanceSnapshot } from './ingest-plan.ts';
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
 * The shared store for several collector replicas, on `pg`. A batch is two set-based statements (unnest arrays) in
 * a transaction whatever its size, so throughput grows with batch size instead of paying one round trip per row.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #schema: string;
  #folder: NodeJS.Timeout | undefined;
  #folding: Promise<unknown> | undefined;

  constructor(opts: PostgresStoreOptions) {
    this.#schema = opts.schema ?? 'public';
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
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw new PodpulseError('PODPULSE_ERR_STORE', `PostgreSQL ingest: cannot connect: ${(err as Error).message}`, { cause: err });
    }
    try {
      await client.query('BEGIN');
      const out = await this.#ingest(client, heartbeats, receivedAt);
      client.release();
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(err instanceof Error ? err : undefined);
      throw err instanceof PodpulseError ? err : new PodpulseError('PODPULSE_ERR_STORE', `PostgreSQL ingest failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Sends COMMIT after `last` without waiting for it (pg sends queued queries in order); resolves once committed. */
  async #commitAfter(c: pg.PoolClient, last: Promise<unknown> | undefined): Promise<void> {
    const commit = c.query('COMMIT');
    // A failed statement aborts the transaction and PostgreSQL answers the COMMIT with ROLLBACK: nothing is durable.
    const [, done] = await Promise.all([last, commit]);
    if (done.command !== 'COMMIT') throw new PodpulseError('PODPULSE_ERR_STORE', `PostgreSQL ingest: the transaction ended with ${done.command}, not COMMIT`);
  }

  /**
   * Two statements per batch, whatever its size, inside BEGIN/COMMIT (committed here): four round trips in all. A commit in flight
   * waits on the network and the server, not on this process, so round trips per batch bound what one transaction
   * slot can carry (the group committer runs several).
   */
  async #ingest(c: pg.PoolClient, heartbeats: readonly Heartbeat[], receivedAt: number): Promise<IngestOutcome[]> {
    const key = (u: string, b: string, s: number | string) => `${u.toLowerCase()}|${b.toLowerCase()}|${s}`;
    // Every statement touches rows in one global order (by key), so overlapping transactions wait on each other
    // instead of deadlocking.
    const sorted = [...heartbeats].sort((a, b) => cmp(a.instance.podUid, b.instance.podUid) || cmp(a.bootId, b.bootId) || a.seq - b.seq);
    const read = await c.query({ name: 'pp_ingest_read', text: INGEST_READ, values: [sorted.map((h) => h.instance.podUid), sorted.map((h) => h.bootId), sorted.map((h) => h.seq), receivedAt] });
    const got = read.rows[0] as { fresh: [string, string, number][] | null; inst: [string, number, number, number, string, number][] | null; checks: unknown[][] | null };
    const unclaimed = new Set((got.fresh ?? []).map(([u, b, s]) => key(u, b, s)));
    const fresh: Heartbeat[] = [];
    const outcomes = heartbeats.map((hb) => {
      const duplicate = !unclaimed.delete(key(hb.instance.podUid, hb.bootId, hb.seq));
      if (!duplicate) fresh.push(hb);
      return { duplicate };
    });
    if (fresh.length === 0) {
      await this.#commitAfter(c, undefined);
      return outcomes;
    }

    const snapshots = new Map<string, InstanceSnapshot>();
    for (const [podUid, firstSeen, lastSeen, lastSentAt, status, statusSince] of got.inst ?? []) {
      snapshots.set(podUid, { instance: { firstSeen, lastSeen, lastSentAt, status: status as InstanceStatus, statusSince }, checks: new Map() });
    }
    for (const [podUid, checkId, kind, status, code, message, since] of got.checks ?? []) {
      snapshots.get(String(podUid))?.checks.set(String(checkId), toCheck({ pod_uid: podUid, check_id: checkId, kind, status, code, message, since }));
    }
    const lowered = fresh.map((h) => (h.instance.podUid === h.instance.podUid.toLowerCase() ? h : { ...h, instance: { ...h.instance, podUid: h.instance.podUid.toLowerCase() } }));
    const plan = planIngest(lowered, receivedAt, snapshots);

    const I = plan.instances.sort((a, b) => cmp(a.podUid, b.podUid));
    const C = plan.checkUpserts.sort((a, b) => cmp(a.podUid, b.podUid) || cmp(a.checkId, b.checkId));
    // One statement cannot delete and upsert the same row; an upsert rewrites every column, so it stands for both.
    const upserted = new Set(C.map((x) => `${x.podUid}|${x.checkId}`));
    const D = plan.checkDeletes.filter((d) => !upserted.has(`${d.podUid}|${d.checkId}`));
    const T = plan.transitions;
    const R = plan.rollups.sort((a, b) => cmp(a.podUid, b.podUid) || a.minute - b.minute);
    const A = plan.appRollups.sort((a, b) => cmp(a.app, b.app) || cmp(a.namespace, b.namespace) || a.minute - b.minute);
    // The write and the COMMIT go out back to back: no event-loop turn between them while other requests are parsed.
    const write = c.query({
      name: 'pp_ingest_write',
      text: INGEST_WRITE,
      values: [
        I.map((i) => i.podUid), I.map((i) => i.namespace), I.map((i) => i.pod), I.map((i) => i.node), I.map((i) => i.app), I.map((i) => i.tenant),
        I.map((i) => i.podIp), I.map((i) => JSON.stringify(i.agent)), I.map((i) => i.bootId), I.map((i) => i.lastSeq), I.map((i) => i.intervalMs),
        I.map((i) => i.dropped), I.map((i) => i.firstSeen), I.map((i) => i.lastSeen), I.map((i) => i.lastSentAt), I.map((i) => i.status), I.map((i) => i.statusSince),
        D.map((d) => d.podUid), D.map((d) => d.checkId),
        C.map((x) => x.podUid), C.map((x) => x.checkId), C.map((x) => x.kind), C.map((x) => x.status), C.map((x) => x.code), C.map((x) => x.message), C.map((x) => x.since),
        T.map((t) => t.podUid), T.map((t) => t.checkId), T.map((t) => t.at), T.map((t) => t.from), T.map((t) => t.to), T.map((t) => t.code),
        R.map((r) => r.podUid), R.map((r) => r.minute), R.map((r) => r.okMs), R.map((r) => r.degradedMs), R.map((r) => r.failingMs), R.map((r) => r.unknownMs),
        A.map((r) => r.namespace), A.map((r) => r.app), A.map((r) => r.minute), A.map((r) => r.okMs), A.map((r) => r.degradedMs), A.map((r) => r.failingMs), A.map((r) => r.unknownMs),
      ],
    });
    await this.#commitAfter(c, write);
    return outcomes;
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
      await c.query('UPDATE instances SET status = $1, status_since = $2 WHERE pod_uid = $3', [status, at, podUid]);
      await c.query('INSERT INTO status_transitions (pod_uid, check_id, at, from_status, to_status, code) VALUES ($1, NULL, $2, $3, $4, NULL)', [podUid, at, r.status, status]);
    });
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
    });
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

/**
 * Dedup and the state planning reads, in one statement: the heartbeats not seen before (RETURNING of the dedup
 * insert), the stored state of their instances, locked in key order, and those instances' checks. Three row sets
 * of different shapes come back as three JSON arrays in one row.
 */
const INGEST_READ = `WITH d AS (
    INSERT INTO heartbeat_dedup (pod_uid, boot_id, seq, received_at)
    SELECT u, b, s, $4 FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS t(u, b, s) ON CONFLICT DO NOTHING RETURNING pod_uid, boot_id, seq
  ), i AS (
    SELECT pod_uid, first_seen, last_seen, last_sent_at, status, status_since FROM instances
    WHERE pod_uid IN (SELECT pod_uid FROM d) ORDER BY pod_uid FOR UPDATE
  )
  SELECT (SELECT json_agg(json_build_array(pod_uid, boot_id, seq)) FROM d) AS fresh,
    (SELECT json_agg(json_build_array(pod_uid, first_seen, last_seen, last_sent_at, status, status_since)) FROM i) AS inst,
    (SELECT json_agg(json_build_array(c.pod_uid, c.check_id, c.kind, c.status, c.code, c.message, c.since)) FROM check_states c
      WHERE c.pod_uid IN (SELECT pod_uid FROM i)) AS checks`;

/**
 * Every write of a planned batch, in one statement of data-modifying CTEs (each sees the snapshot from before the
 * statement, so no two of them may touch the same row: the plan's keys are unique per table, and deletes of rows
 * the batch upserts are left out). Empty arrays make a CTE a no-op.
 */
const INGEST_WRITE = `WITH up_inst AS (
    INSERT INTO instances (pod_uid, namespace, pod, node, app, tenant, pod_ip, agent, boot_id, last_seq, interval_ms, dropped,
      first_seen, last_seen, last_sent_at, status, status_since)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::uuid[],
      $10::bigint[], $11::int[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::text[], $17::bigint[])
    ON CONFLICT (pod_uid) DO UPDATE SET namespace=excluded.namespace, pod=excluded.pod, node=excluded.node, app=excluded.app,
      tenant=excluded.tenant, pod_ip=excluded.pod_ip, agent=excluded.agent, boot_id=excluded.boot_id, last_seq=excluded.last_seq,
      interval_ms=excluded.interval_ms, dropped=excluded.dropped, last_seen=excluded.last_seen, last_sent_at=excluded.last_sent_at,
      status=excluded.status, status_since=excluded.status_since
  ), del_checks AS (
    DELETE FROM check_states c USING unnest($18::uuid[], $19::text[]) AS d(u, id) WHERE c.pod_uid = d.u AND c.check_id = d.id
  ), up_checks AS (
    INSERT INTO check_states (pod_uid, check_id, kind, status, code, message, since)
    SELECT * FROM unnest($20::uuid[], $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::bigint[])
    ON CONFLICT (pod_uid, check_id) DO UPDATE SET kind=excluded.kind, status=excluded.status, code=excluded.code,
      message=excluded.message, since=excluded.since
  ), transitions AS (
    INSERT INTO status_transitions (pod_uid, check_id, at, from_status, to_status, code)
    SELECT * FROM unnest($27::uuid[], $28::text[], $29::bigint[], $30::text[], $31::text[], $32::text[])
  ), rollups AS (
    INSERT INTO rollups_minute (pod_uid, minute, ok_ms, degraded_ms, failing_ms, unknown_ms)
    SELECT * FROM unnest($33::uuid[], $34::bigint[], $35::bigint[], $36::bigint[], $37::bigint[], $38::bigint[])
    ON CONFLICT (pod_uid, minute) DO UPDATE SET ok_ms = rollups_minute.ok_ms + excluded.ok_ms,
      degraded_ms = rollups_minute.degraded_ms + excluded.degraded_ms, failing_ms = rollups_minute.failing_ms + excluded.failing_ms,
      unknown_ms = rollups_minute.unknown_ms + excluded.unknown_ms
  )
  INSERT INTO rollups_app_minute_delta (namespace, app, minute, ok_ms, degraded_ms, failing_ms, unknown_ms)
  SELECT * FROM unnest($39::text[], $40::text[], $41::bigint[], $42::bigint[], $43::bigint[], $44::bigint[], $45::bigint[])`;

/**
 * Folds per-app rollup deltas into rollups_app_minute in one statement. Safe beside ingest (which only inserts
 * deltas) and beside another replica folding: a delta row is deleted, and so counted, once.
 */
const FOLD_APP_DELTAS = `WITH moved AS (DELETE FROM rollups_app_minute_delta RETURNING *)
  INSERT INTO rollups_app_minute (namespace, app, minute, ok_ms, degraded_ms, failing_ms, unknown_ms)
  SELECT namespace, app, minute, SUM(ok_ms), SUM(degraded_ms), SUM(failing_ms), SUM(unknown_ms) FROM moved GROUP BY app, namespace, minute
  ORDER BY app, namespace, minute
  ON CONFLICT (app, namespace, minute) DO UPDATE SET ok_ms = rollups_app_minute.ok_ms + excluded.ok_ms,
    degraded_ms = rollups_app_minute.degraded_ms + excluded.degraded_ms, failing_ms = rollups_app_minute.failing_ms + excluded.failing_ms,
    unknown_ms = rollups_app_minute.unknown_ms + excluded.unknown_ms`;

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A malformed uid would be a PostgreSQL cast error; it simply matches nothing, as in SQLite. */
const isUuid = (s: string): boolean => UUID.test(s);
