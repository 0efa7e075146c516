import type { AgentState, CheckResult, CheckStatus, Heartbeat } from '../../src/protocol/heartbeat.ts';
import type { RecordStore } from './record-store.ts';

/**
 * What the latest heartbeat says about an instance as a whole: the worst check status (`fail` → failing, `warn` →
 * degraded, only `unknown` → unknown), or unknown when the daemon beat alone because its worker could not. The
 * diagnosis may overwrite it with states heartbeats cannot express (`silent`, `probe-broken`, `retired`).
 */
export type InstanceStatus = 'healthy' | 'degraded' | 'failing' | 'unknown' | 'silent' | 'probe-broken' | 'retired';
export const INSTANCE_STATUSES = ['healthy', 'degraded', 'failing', 'unknown', 'silent', 'probe-broken', 'retired'] as const;

/** An instance (one pod, keyed by pod uid), auto-registered on its first heartbeat. Times are epoch milliseconds. */
export interface StoredInstance {
  podUid: string;
  namespace: string;
  pod: string;
  node: string | null;
  app: string;
  tenant: string;
  podIp: string | null;
  agent: AgentState;
  bootId: string;
  lastSeq: number;
  intervalMs: number;
  dropped: number;
  /** When the collector received the first and the latest heartbeat. */
  firstSeen: number;
  lastSeen: number;
  /** `sentAt` of the newest heartbeat: the instance's own clock, used to tell late heartbeats from current ones. */
  lastSentAt: number;
  status: InstanceStatus;
  statusSince: number;
}

/**
 * The current state of one check of one instance; `since` is when it entered this status. The row changes only
 * when kind, status, code or message change, not on every heartbeat: when it was last reported is the instance's
 * `lastSentAt`. (Rewriting three check rows per heartbeat to refresh a latency figure tripled the store's writes.)
 */
export interface CheckState {
  podUid: string;
  checkId: string;
  kind: CheckResult['kind'];
  status: CheckStatus;
  code: string;
  message: string | null;
  since: number;
}

/** A change of status, kept as history; `checkId` is null for the instance's own status. */
export interface Transition {
  podUid: string;
  checkId: string | null;
  at: number;
  from: string | null;
  to: string;
  code: string | null;
}

/** Seconds of one instance in one minute, by status, for SLA; silent time is derived from what is missing. */
export interface Rollup {
  podUid: string;
  /** Start of the minute, epoch ms. */
  minute: number;
  okSeconds: number;
  degradedSeconds: number;
  failingSeconds: number;
  unknownSeconds: number;
}

/** A stored diagnosis event; `body` is the CloudEvent as JSON. */
export interface StoredEvent {
  id: string;
  fingerprint: string;
  type: string;
  status: 'pending' | 'firing' | 'resolved';
  severity: 'info' | 'warning' | 'critical';
  app: string | null;
  tenant: string | null;
  subject: string | null;
  body: unknown;
  createdAt: number;
  updatedAt: number;
  resolvedAt: number | null;
}

/** Per heartbeat of an ingest call, in the order given. */
export interface IngestOutcome {
  duplicate: boolean;
}

export interface InstanceQuery {
  namespace?: string;
  app?: string;
  tenant?: string;
  node?: string;
  status?: InstanceStatus;
  /** 1..1000, default 100. */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

export interface EventQuery {
  status?: StoredEvent['status'];
  app?: string;
  type?: string;
  fingerprint?: string;
  limit?: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Absent on the last page. */
  nextCursor?: string;
}

export interface RollupQuery {
  from: number;
  to: number;
  podUid?: string;
  app?: string;
  namespace?: string;
}

/** Instances per app and status (the read API's `/apps` and the `instances by status` metric). */
export interface InstanceCount {
  app: string;
  status: InstanceStatus;
  count: number;
}

/** Current non-ok checks of live (not silent, not retired) instances, per check kind, code and status. */
export interface CheckCount {
  kind: string;
  code: string;
  status: 'warn' | 'fail' | 'unknown';
  count: number;
}

export interface SlaQuery {
  /** Window [from, to), epoch ms; `to` is also "now" for instances that still exist. */
  from: number;
  to: number;
  app?: string;
  namespace?: string;
}

/**
 * Instance-seconds in an SLA window: covered by heartbeats, by reported status (from the per-app minute rollups),
 * and existed (each instance from its first heartbeat's interval until it was retired, or the end of the window).
 * What existed but was not covered was silent.
 */
export interface SlaTotals {
  okSeconds: number;
  degradedSeconds: number;
  failingSeconds: number;
  unknownSeconds: number;
  existedSeconds: number;
  /** Instances that existed at some point in the window. */
  instances: number;
}

/** How long each table keeps rows, in milliseconds. */
export interface Retention {
  transitionsMs: number;
  rollupsMs: number;
  eventsMs: number;
  dedupMs: number;
  /** Instances not heard from for this long are deleted with their check states. */
  instancesMs: number;
}

export interface PruneResult {
  deleted: number;
}

/**
 * The collector's persistence. SQLite (embedded) and PostgreSQL implement it, and one conformance suite
 * (test/integration/store/conformance.ts) runs against both. `ingest` is the only hot path: it receives a whole
 * group-committed batch and writes it in ONE transaction; when its promise resolves the batch is durable.
 */
export interface Store extends RecordStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies pending migrations (versioned, idempotent); called once at start. */
  migrate(): Promise<void>;
  /** Store reachable and schema at the version this build expects. */
  ready(): Promise<{ ok: boolean; reason?: string }>;
  ingest(heartbeats: readonly Heartbeat[], receivedAt: number): Promise<IngestOutcome[]>;
  listInstances(q?: InstanceQuery): Promise<Page<StoredInstance>>;
  getInstance(podUid: string): Promise<StoredInstance | undefined>;
  /** For the diagnosis: states a heartbeat cannot express (silent, probe-broken, retired). */
  setInstanceStatus(podUid: string, status: InstanceStatus, at: number): Promise<void>;
  listChecks(podUid: string): Promise<CheckState[]>;
  /** Newest first. */
  listTransitions(podUid: string, opts?: { since?: number; limit?: number }): Promise<Transition[]>;
  listRollups(q: RollupQuery): Promise<Rollup[]>;
  upsertEvent(event: StoredEvent): Promise<void>;
  /** Newest update first. */
  listEvents(q?: EventQuery): Promise<Page<StoredEvent>>;
  getWatermark(key: string): Promise<string | undefined>;
  setWatermark(key: string, value: string): Promise<void>;
  /** Instances by app and status, optionally of one namespace, app or tenant. */
  countInstances(q?: { namespace?: string; app?: string; tenant?: string }): Promise<InstanceCount[]>;
  /** Non-ok checks of live instances by kind, code and status. */
  countChecks(): Promise<CheckCount[]>;
  slaTotals(q: SlaQuery): Promise<SlaTotals>;
  prune(retention: Retention, now: number): Promise<PruneResult>;
  close(): Promise<void>;
}
