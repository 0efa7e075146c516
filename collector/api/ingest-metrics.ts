import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RejectReason } from './http-error.ts';

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
    for (const reason of ['bad_request', 'too_large', 'unsupported_media_type', 'unauthenticated', 'forbidden', 'overloaded', 'unavailable', 'store_error'] satisfies RejectReason[]) {
      this.rejections.inc({ reason }, 0);
    }
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'podpulse_collector_' });
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
