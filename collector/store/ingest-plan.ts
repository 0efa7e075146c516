import type { Heartbeat } from '../../src/protocol/heartbeat.ts';
import { probeBrokenReason } from '../diagnosis/instance-status.ts';
import type { CheckState, InstanceStatus, StoredInstance, Transition } from './store.ts';

/**
 * What planning reads of an instance's stored row: the rest of the row is rewritten from the heartbeat. A store
 * that caches rows between batches needs to keep only this.
 */
export type PriorInstance = Pick<StoredInstance, 'firstSeen' | 'lastSeen' | 'lastSentAt' | 'status' | 'statusSince'>;

/** What the store holds for one instance before a batch: loaded once per batch, then advanced heartbeat by heartbeat. */
export interface InstanceSnapshot {
  instance: PriorInstance | undefined;
  checks: Map<string, CheckState>;
}

/** Milliseconds of one instance in one minute, by status (the store adds them to what it has). */
export interface RollupDelta {
  podUid: string;
  minute: number;
  okMs: number;
  degradedMs: number;
  failingMs: number;
  unknownMs: number;
}

/** The same, summed over the instances of one app in one namespace: what SLA queries read instead of per-pod rows. */
export interface AppRollupDelta extends Omit<RollupDelta, 'podUid'> {
  namespace: string;
  app: string;
}

/** Every write one batch needs, computed without touching the database so both stores share the rules. */
export interface IngestPlan {
  instances: StoredInstance[];
  checkUpserts: CheckState[];
  checkDeletes: { podUid: string; checkId: string }[];
  transitions: Transition[];
  rollups: RollupDelta[];
  appRollups: AppRollupDelta[];
}

const MINUTE = 60_000;

/**
 * The instance status a heartbeat reports: probe-broken when its agent says so (breaker open, worker crashloop,
 * failed update: its results are not to be trusted, and the diagnosis says the same), else its worst check; a
 * daemon-only beat cannot tell, so unknown.
 */
export function reportedStatus(hb: Heartbeat): InstanceStatus {
  if (probeBrokenReason(hb.agent) !== undefined) return 'probe-broken';
  if (hb.source === 'daemon') return 'unknown';
  let worst: InstanceStatus = 'healthy';
  let onlyUnknown = hb.checks.length > 0;
  for (const c of hb.checks) {
    if (c.status === 'fail') return 'failing';
    if (c.status === 'warn') worst = 'degraded';
    if (c.status !== 'unknown') onlyUnknown = false;
  }
  return worst === 'healthy' && onlyUnknown ? 'unknown' : worst;
}

function addRollup(out: Map<string, RollupDelta>, apps: Map<string, AppRollupDelta>, hb: Heartbeat, status: InstanceStatus, start: number, end: number): void {
  addRollupSpan(out, apps, hb.instance.podUid, hb.instance.namespace, hb.instance.app, status, start, end);
}

/**
 * Adds [start, end) of one instance in one status to the per-pod and per-app minute deltas (keyed `pod|minute` and
 * `namespace|app|minute`). Also what a store replays from its own log after a crash.
 */
export function addRollupSpan(
  out: Map<string, RollupDelta>, apps: Map<string, AppRollupDelta>, podUid: string, namespace: string, app: string, status: InstanceStatus, start: number, end: number,
): void {
  // A heartbeat vouches for the interval before it: spread [sentAt - interval, sentAt) over the minutes it covers.
  for (let t = start; t < end; ) {
    const minute = Math.floor(t / MINUTE) * MINUTE;
    const until = Math.min(end, minute + MINUTE);
    const key = `${podUid}|${minute}`;
    let d = out.get(key);
    if (!d) out.set(key, (d = { podUid, minute, okMs: 0, degradedMs: 0, failingMs: 0, unknownMs: 0 }));
    const span = until - t;
    const appKey = `${namespace}|${app}|${minute}`;
    let a = apps.get(appKey);
    if (!a) apps.set(appKey, (a = { namespace, app, minute, okMs: 0, degradedMs: 0, failingMs: 0, unknownMs: 0 }));
    if (status === 'healthy') a.okMs += span;
    else if (status === 'degraded') a.degradedMs += span;
    else if (status === 'failing') a.failingMs += span;
    else a.unknownMs += span;
    if (status === 'healthy') d.okMs += span;
    else if (status === 'degraded') d.degradedMs += span;
    else if (status === 'failing') d.failingMs += span;
    else d.unknownMs += span;
    t = until;
  }
}

/**
 * Plans the writes for heartbeats that passed dedup. Heartbeats are applied in `sentAt` order, so a replayed spool
 * builds history in the order it happened. A heartbeat older than the newest one already applied for its instance
 * (a late one) still counts for SLA rollups but does not move current state or write transitions: the current
 * state must never go backwards in time.
 */
export function planIngest(fresh: readonly Heartbeat[], receivedAt: number, snapshots: Map<string, InstanceSnapshot>): IngestPlan {
  const ordered = fresh
    .map((hb, i) => ({ hb, i, sentAt: Date.parse(hb.sentAt) }))
    .sort((a, b) => a.sentAt - b.sentAt || a.i - b.i);
  const rollups = new Map<string, RollupDelta>();
  const appRollups = new Map<string, AppRollupDelta>();
  const transitions: Transition[] = [];
  /** The newest row of each instance the batch moves, in first-touched order. */
  const touched = new Map<string, StoredInstance>();
  const checkDeletes: { podUid: string; checkId: string }[] = [];
  const checkTouched = new Map<string, CheckState>();

  for (const { hb, sentAt } of ordered) {
    const uid = hb.instance.podUid;
    const status = reportedStatus(hb);
    addRollup(rollups, appRollups, hb, status, sentAt - hb.intervalMs, sentAt);
    let snap = snapshots.get(uid);
    if (!snap) snapshots.set(uid, (snap = { instance: undefined, checks: new Map() }));
    const prev = snap.instance;
    if (prev && sentAt < prev.lastSentAt) continue;

    if (!prev || prev.status !== status) transitions.push({ podUid: uid, checkId: null, at: sentAt, from: prev?.status ?? null, to: status, code: null });
    const row: StoredInstance = {
      podUid: uid,
      namespace: hb.instance.namespace,
      pod: hb.instance.pod,
      node: hb.instance.node ?? null,
      app: hb.instance.app,
      tenant: hb.instance.tenant,
      podIp: hb.instance.podIp ?? null,
      agent: hb.agent,
      bootId: hb.bootId,
      lastSeq: hb.seq,
      intervalMs: hb.intervalMs,
      dropped: hb.dropped,
      firstSeen: prev?.firstSeen ?? receivedAt,
      lastSeen: Math.max(receivedAt, prev?.lastSeen ?? 0),
      lastSentAt: sentAt,
      status,
      statusSince: prev && prev.status === status ? prev.statusSince : sentAt,
    };
    snap.instance = row;
    touched.set(uid, row);

    const present = new Set<string>();
    for (const c of hb.checks) {
      present.add(c.id);
      const before = snap.checks.get(c.id);
      if (!before || before.status !== c.status) {
        transitions.push({ podUid: uid, checkId: c.id, at: sentAt, from: before?.status ?? null, to: c.status, code: c.code });
      }
      const message = c.message ?? null;
      if (before && before.status === c.status && before.code === c.code && before.kind === c.kind && before.message === message) continue;
      const state: CheckState = {
        podUid: uid,
        checkId: c.id,
        kind: c.kind,
        status: c.status,
        code: c.code,
        message,
        since: before && before.status === c.status ? before.since : sentAt,
      };
      snap.checks.set(c.id, state);
      checkTouched.set(`${uid}|${c.id}`, state);
    }
    // A worker beat lists every configured check: one that is gone was removed from the config. A daemon beat
    // lists none (its worker is down) and says nothing about the checks.
    if (hb.source === 'worker') {
      for (const id of [...snap.checks.keys()]) {
        if (present.has(id)) continue;
        snap.checks.delete(id);
        checkTouched.delete(`${uid}|${id}`);
        checkDeletes.push({ podUid: uid, checkId: id });
      }
    }
  }
  const instances = [...touched.values()];
  return { instances, checkUpserts: [...checkTouched.values()], checkDeletes, transitions, rollups: [...rollups.values()], appRollups: [...appRollups.values()] };
}
