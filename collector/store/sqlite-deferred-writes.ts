import type { SQLInputValue } from 'node:sqlite';
import type { Heartbeat } from '../../src/protocol/heartbeat.ts';
import { addRollupSpan, reportedStatus, type AppRollupDelta, type IngestPlan, type RollupDelta } from './ingest-plan.ts';
import { SeqSet } from './seq-set.ts';
import { insertRows, type Prepare } from './sqlite-ingest-writes.ts';
import type { IngestOutcome, InstanceStatus, StoredInstance } from './store.ts';

type Row = Record<string, unknown>;

/** Intervals kept in memory per (pod, boot) after a flush; older ones are answered by the table. */
const MAX_INTERVALS = 8;

export interface DeferredWritesOptions {
  /** (pod, boot) pairs kept in memory for dedup; past this, the least recently claimed are forgotten at a flush. */
  maxPairs?: number;
  /** A pair with no claim for this long is forgotten at a flush (it is re-read from the table if it comes back). */
  idleMs?: number;
}

/**
 * What the SQLite store writes per heartbeat lazily. A commit (the acknowledgement) appends one row per heartbeat
 * to `heartbeat_log` and writes state changes (new instances, status and check changes, transitions); the rest of
 * what a heartbeat changes — its dedup key, the per-minute rollups, the instance's last seen / last seq — is
 * derivable from the log, so it collects here and `flush` writes it in one transaction (about once a second) and
 * empties the log. A crash loses only memory: `recover` folds the log's rows into the same tables at start-up.
 *
 * Dedup runs from memory: a SeqSet per (pod, boot), seeded from `heartbeat_seq_ranges` on first sight; a seq at or
 * below its floor that memory does not hold (a spool replaying old seqs) is looked up in that table.
 */
export class SqliteDeferredWrites {
  readonly #pairs = new Map<string, SeqSet>();
  readonly #dirty = new Set<SeqSet>();
  readonly #rollups = new Map<string, RollupDelta>();
  readonly #apps = new Map<string, AppRollupDelta>();
  /** The newest row of instances whose last-seen fields changed since the flush; state changes are written at once. */
  readonly #liveness = new Map<string, StoredInstance>();
  #logged = 0;
  readonly #maxPairs: number;
  readonly #idleMs: number;

  constructor(opts: DeferredWritesOptions = {}) {
    this.#maxPairs = opts.maxPairs ?? 100_000;
    this.#idleMs = opts.idleMs ?? 15 * 60_000;
  }

  /** Heartbeats in the log not yet folded. */
  get pending(): number {
    return this.#logged;
  }

  /** The newest unflushed row of an instance, if it has one: newer than its row in the table. */
  liveRow(podUid: string): StoredInstance | undefined {
    return this.#liveness.get(podUid);
  }

  #pair(prepare: Prepare, podUid: string, bootId: string, key: string): SeqSet {
    let set = this.#pairs.get(key);
    if (!set) {
      const r = prepare('SELECT MAX(last_seq) AS m FROM heartbeat_seq_ranges WHERE pod_uid = ? AND boot_id = ?').get(podUid, bootId) as Row;
      set = new SeqSet(key, r.m === null || r.m === undefined ? -1 : Number(r.m));
      this.#pairs.set(key, set);
    }
    return set;
  }

  /**
   * Which heartbeats are new: not claimed before (memory, or the table for an old seq) nor earlier in this batch.
   * Reads only; the claims are recorded by `committed` once the batch's transaction has committed.
   */
  claim(prepare: Prepare, heartbeats: readonly Heartbeat[]): { outcomes: IngestOutcome[]; fresh: Heartbeat[] } {
    const inBatch = new Set<string>();
    const fresh: Heartbeat[] = [];
    const outcomes: IngestOutcome[] = [];
    for (const hb of heartbeats) {
      const uid = hb.instance.podUid;
      const key = `${uid}|${hb.bootId}`;
      const set = this.#pair(prepare, uid, hb.bootId, key);
      const full = `${key}|${hb.seq}`;
      const duplicate = inBatch.has(full) || set.has(hb.seq) || (hb.seq <= set.floor && this.#stored(prepare, uid, hb.bootId, hb.seq));
      if (!duplicate) {
        inBatch.add(full);
        fresh.push(hb);
      }
      outcomes.push({ duplicate });
    }
    return { outcomes, fresh };
  }

  #stored(prepare: Prepare, podUid: string, bootId: string, seq: number): boolean {
    return prepare('SELECT 1 AS x FROM heartbeat_seq_ranges WHERE pod_uid = ? AND boot_id = ? AND first_seq <= ? AND last_seq >= ? LIMIT 1')
      .get(podUid, bootId, seq, seq) !== undefined;
  }

  /** The batch's log rows, inside its transaction: what `recover` needs to redo the deferred part. */
  appendLog(prepare: Prepare, fresh: readonly Heartbeat[], receivedAt: number): void {
    const values: SQLInputValue[] = [];
    for (const hb of fresh) {
      values.push(hb.instance.podUid, hb.bootId, hb.seq, receivedAt, Date.parse(hb.sentAt), hb.intervalMs, hb.dropped, reportedStatus(hb), hb.instance.namespace, hb.instance.app);
    }
    insertRows(prepare, 'INSERT INTO heartbeat_log (pod_uid, boot_id, seq, received_at, sent_at, interval_ms, dropped, status, namespace, app)', '', 10, values);
  }

  /**
   * After the batch committed: its claims, rollups and last-seen rows join what the next flush writes. `written` are
   * the instance rows the commit wrote whole (their older pending row must not overwrite them); `live` the others.
   */
  committed(fresh: readonly Heartbeat[], receivedAt: number, plan: IngestPlan, written: readonly StoredInstance[], live: readonly StoredInstance[]): void {
    for (const hb of fresh) {
      const set = this.#pairs.get(`${hb.instance.podUid}|${hb.bootId}`)!;
      set.add(hb.seq, receivedAt);
      this.#dirty.add(set);
    }
    for (const r of plan.rollups) mergeDelta(this.#rollups, `${r.podUid}|${r.minute}`, r);
    for (const a of plan.appRollups) mergeDelta(this.#apps, `${a.namespace}|${a.app}|${a.minute}`, a);
    for (const i of written) this.#liveness.delete(i.podUid);
    for (const i of live) this.#liveness.set(i.podUid, i);
    this.#logged += fresh.length;
  }

  /** Whether there is anything to flush. */
  get dirty(): boolean {
    return this.#logged > 0 || this.#dirty.size > 0 || this.#liveness.size > 0 || this.#rollups.size > 0;
  }

  /**
   * Writes everything deferred and empties the log, inside the caller's transaction. `done` is called after it
   * committed: memory forgets what is now in the tables (on a failed commit nothing is forgotten and the next flush
   * writes it all again, the log rows still in place).
   */
  flush(prepare: Prepare): () => void {
    const ranges: SQLInputValue[] = [];
    for (const s of this.#dirty) {
      const bar = s.key.indexOf('|');
      const [podUid, bootId] = [s.key.slice(0, bar), s.key.slice(bar + 1)];
      for (let i = 0; i < s.bounds.length; i += 2) ranges.push(podUid, bootId, s.bounds[i]!, s.bounds[i + 1]!, s.lastClaimAt);
    }
    insertRows(prepare, 'INSERT INTO heartbeat_seq_ranges (pod_uid, boot_id, first_seq, last_seq, received_at)', `ON CONFLICT (pod_uid, boot_id, first_seq)
      DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq), received_at = MAX(received_at, excluded.received_at)`, 5, ranges);

    // In key order, so neighbouring rows share pages.
    const rollups: SQLInputValue[] = [];
    for (const r of [...this.#rollups.values()].sort((a, b) => cmp(a.podUid, b.podUid) || a.minute - b.minute)) {
      rollups.push(r.podUid, r.minute, r.okMs, r.degradedMs, r.failingMs, r.unknownMs);
    }
    insertRows(prepare, 'INSERT INTO rollups_minute (pod_uid, minute, ok_ms, degraded_ms, failing_ms, unknown_ms)', `ON CONFLICT (pod_uid, minute)
      DO UPDATE SET ok_ms = ok_ms + excluded.ok_ms, degraded_ms = degraded_ms + excluded.degraded_ms,
      failing_ms = failing_ms + excluded.failing_ms, unknown_ms = unknown_ms + excluded.unknown_ms`, 6, rollups);
    const apps: SQLInputValue[] = [];
    for (const r of this.#apps.values()) apps.push(r.namespace, r.app, r.minute, r.okMs, r.degradedMs, r.failingMs, r.unknownMs);
    insertRows(prepare, 'INSERT INTO rollups_app_minute (namespace, app, minute, ok_ms, degraded_ms, failing_ms, unknown_ms)', `ON CONFLICT
      (app, namespace, minute) DO UPDATE SET ok_ms = ok_ms + excluded.ok_ms, degraded_ms = degraded_ms + excluded.degraded_ms,
      failing_ms = failing_ms + excluded.failing_ms, unknown_ms = unknown_ms + excluded.unknown_ms`, 7, apps);

    const touch = prepare('UPDATE instances SET last_seq = ?, last_seen = ?, last_sent_at = ?, dropped = ? WHERE pod_uid = ?');
    for (const i of [...this.#liveness.values()].sort((a, b) => cmp(a.podUid, b.podUid))) touch.run(i.lastSeq, i.lastSeen, i.lastSentAt, i.dropped, i.podUid);
    prepare('DELETE FROM heartbeat_log').run();

    return () => {
      for (const s of this.#dirty) s.trim(MAX_INTERVALS);
      this.#dirty.clear();
      this.#rollups.clear();
      this.#apps.clear();
      this.#liveness.clear();
      this.#logged = 0;
      this.#forgetIdle(Date.now());
    };
  }

  /** Pairs idle for long, or the least recently claimed past the bound: all their claims are in the table now. */
  #forgetIdle(now: number): void {
    for (const [key, s] of this.#pairs) if (now - s.lastClaimAt > this.#idleMs && s.lastClaimAt > 0) this.#pairs.delete(key);
    if (this.#pairs.size <= this.#maxPairs) return;
    const byAge = [...this.#pairs].sort((a, b) => a[1].lastClaimAt - b[1].lastClaimAt);
    for (const [key] of byAge.slice(0, this.#pairs.size - this.#maxPairs)) this.#pairs.delete(key);
  }

  /** Forgets every pair (after a prune deleted ranges: memory must not answer for what the table no longer has). */
  forgetPairs(): void {
    if (this.#dirty.size > 0) throw new Error('forgetPairs with unflushed claims');
    this.#pairs.clear();
  }

  /**
   * Start-up after a crash: loads what the log holds as if those batches had just committed (claims, rollups,
   * last-seen), so the caller's next flush writes it and empties the log. Returns the number of log rows.
   */
  recover(prepare: Prepare): number {
    const rows = prepare('SELECT * FROM heartbeat_log ORDER BY id').all() as Row[];
    const getInstance = prepare('SELECT * FROM instances WHERE pod_uid = ?');
    for (const r of rows) {
      const uid = String(r.pod_uid);
      const boot = String(r.boot_id);
      const key = `${uid}|${boot}`;
      let set = this.#pairs.get(key);
      if (!set) this.#pairs.set(key, (set = new SeqSet(key, -1)));
      const seq = Number(r.seq);
      const receivedAt = Number(r.received_at);
      const sentAt = Number(r.sent_at);
      set.add(seq, receivedAt);
      this.#dirty.add(set);
      addRollupSpan(this.#rollups, this.#apps, uid, String(r.namespace), String(r.app), String(r.status) as InstanceStatus, sentAt - Number(r.interval_ms), sentAt);
      let inst = this.#liveness.get(uid);
      if (!inst) {
        const row = getInstance.get(uid) as Row | undefined;
        // Every logged heartbeat's instance was written in the same transaction; a pruned one is simply gone.
        if (!row) continue;
        inst = { podUid: uid, lastSeq: Number(row.last_seq), lastSeen: Number(row.last_seen), lastSentAt: Number(row.last_sent_at), dropped: Number(row.dropped) } as StoredInstance;
      }
      // As planIngest: a heartbeat older than the newest applied one (a late one) does not move the instance.
      if (sentAt >= inst.lastSentAt) inst = { ...inst, lastSeq: seq, lastSentAt: sentAt, dropped: Number(r.dropped), lastSeen: Math.max(inst.lastSeen, receivedAt) };
      this.#liveness.set(uid, inst);
    }
    this.#logged = rows.length;
    return rows.length;
  }
}

function mergeDelta<T extends { okMs: number; degradedMs: number; failingMs: number; unknownMs: number }>(into: Map<string, T>, key: string, d: T): void {
  const have = into.get(key);
  if (!have) {
    into.set(key, { ...d });
    return;
  }
  have.okMs += d.okMs;
  have.degradedMs += d.degradedMs;
  have.failingMs += d.failingMs;
  have.unknownMs += d.unknownMs;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
