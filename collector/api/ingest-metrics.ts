import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CheckCount, InstanceCount } from '../store/store.ts';
import type { RejectReason } from './http-error.ts';

/** Where the fleet gauges read from at scrape time (the store), bounded to labels per app, kind and code. */
export interface FleetSource {
  countInstances(): Promise<InstanceCount[]>;
  countChecks(): Promise<CheckCount[]>;
}

/**
 * The collector's Prometheus metrics, in their own registry (no global state, so tests can build many servers).
 * Labels are small fixed sets — outcome, reason, store kind — never a pod, so the series count does not grow with
 * the fleet.
 */
export class IngestMetrics {
  readonly registry = new Registry();
  readonly heartbeats: Counter<'result'>;
  readonly rejections: Counter<'reason'>;
  readonly requestDuration: Histogram;
  readonly commitDuration: Histogram<'store' | 'outcome'>;
  readonly commitRows: Histogram<'store'>;
  readonly queueDepth: Gauge;
  readonly storeQueryDuration: Histogram<'store' | 'op'>;
  readonly events: Counter<'type' | 'status'>;
  readonly webhook: Counter<'outcome'>;
  readonly diagnosisInstances: Gauge;
  readonly diagnosisTickDuration: Histogram;
  readonly #store: string;

  constructor(storeKind: string, opts: { processMetrics?: boolean } = {}) {
    this.#store = storeKind;
    const registers = [this.registry];
    this.heartbeats = new Counter({ name: 'podpulse_ingest_heartbeats_total', help: 'Heartbeats committed, by result (accepted or duplicate).', labelNames: ['result'], registers });
    this.rejections = new Counter({ name: 'podpulse_ingest_rejections_total', help: 'Agent requests refused, by reason.', labelNames: ['reason'], registers });
    this.requestDuration = new Histogram({
      name: 'podpulse_ingest_request_duration_seconds',
      help: 'Time from request to 202 for POST /v1/heartbeats, including the group commit.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.commitDuration = new Histogram({
      name: 'podpulse_store_commit_duration_seconds',
      help: 'Duration of one group-commit transaction.',
      labelNames: ['store', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.commitRows = new Histogram({ name: 'podpulse_store_commit_rows', help: 'Heartbeats per group-commit transaction.', labelNames: ['store'], buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500], registers });
    this.queueDepth = new Gauge({ name: 'podpulse_ingest_queue_depth', help: 'Heartbeats waiting for a transaction.', registers });
    this.storeQueryDuration = new Histogram({
      name: 'podpulse_store_query_duration_seconds',
      help: 'Duration of store reads and diagnosis writes outside the ingest transaction, by operation.',
      labelNames: ['store', 'op'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.events = new Counter({ name: 'podpulse_events_total', help: 'Diagnosis events emitted (firing, updates, resolved), by type and status.', labelNames: ['type', 'status'], registers });
    this.webhook = new Counter({ name: 'podpulse_webhook_deliveries_total', help: 'Webhook sink outcomes: delivered, retried attempts, dropped events.', labelNames: ['outcome'], registers });
    for (const outcome of ['delivered', 'retry', 'dropped']) this.webhook.inc({ outcome }, 0);
    this.diagnosisInstances = new Gauge({ name: 'podpulse_diagnosis_instances', help: 'Instances tracked by this replica\'s diagnosis.', registers });
    this.diagnosisTickDuration = new Histogram({
      name: 'podpulse_diagnosis_tick_duration_seconds',
      help: 'Duration of one time-driven diagnosis pass over the fleet.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    });
    for (const reason of ['bad_request', 'too_large', 'unsupported_media_type', 'unauthenticated', 'forbidden', 'overloaded', 'unavailable', 'store_error'] satisfies RejectReason[]) {
      this.rejections.inc({ reason }, 0);
    }
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'podpulse_collector_' });
  }

  /** Times one store operation for `podpulse_store_query_duration_seconds`. */
  async timed<T>(op: string, work: Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work;
    } finally {
      this.storeQueryDuration.observe({ store: this.#store, op }, (performance.now() - started) / 1000);
    }
  }

  /**
   * Registers the fleet gauges, read from the store when scraped: instances by app and status, and non-ok checks
   * of live instances by kind, code and status. One series per app (or kind and code), never one per pod.
   */
  observeFleet(source: FleetSource): void {
    const timed = <T>(op: string, p: Promise<T>): Promise<T> => this.timed(op, p);
    new Gauge({
      name: 'podpulse_instances',
      help: 'Instances by app and status, as stored.',
      labelNames: ['app', 'status'],
      registers: [this.registry],
      async collect() {
        const rows = await timed('count_instances', source.countInstances());
        this.reset();
        for (const r of rows) this.set({ app: r.app, status: r.status }, r.count);
      },
    });
    new Gauge({
      name: 'podpulse_checks_not_ok',
      help: 'Current checks not ok on live (not silent, not retired) instances, by check kind, reason code and status.',
      labelNames: ['kind', 'code', 'status'],
      registers: [this.registry],
      async collect() {
        const rows = await timed('count_checks', source.countChecks());
        this.reset();
        for (const r of rows) this.set({ kind: r.kind, code: r.code, status: r.status }, r.count);
      },
    });
  }

  /** The hooks a GroupCommitter reports through. */
  committerObserver(): { commit(seconds: number, rows: number, ok: boolean): void; depth(rows: number): void } {
    return {
      commit: (seconds, rows, ok) => {
        this.commitDuration.observe({ store: this.#store, outcome: ok ? 'ok' : 'error' }, seconds);
        if (ok) this.commitRows.observe({ store: this.#store }, rows);
      },
      depth: (rows) => this.queueDepth.set(rows),
    };
  }
}
