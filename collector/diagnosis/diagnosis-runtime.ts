import { readFileSync } from 'node:fs';
import type { Logger } from '../../src/log/logger.ts';
import type { DiagnosisEvent, Heartbeat } from '../../src/protocol/index.ts';
import { ms } from '../../src/units.ts';
import type { IngestMetrics } from '../api/ingest-metrics.ts';
import type { CollectorConfig } from '../config.ts';
import { EventRecorder } from '../events/event-recorder.ts';
import { WebhookSink } from '../events/webhook-sink.ts';
import type { Store } from '../store/store.ts';
import { Diagnoser, type DiagnosisResult, type InstanceSnapshot } from './diagnoser.ts';
import { diagnosisOptions } from './diagnosis-options.ts';
import { diagnosisSeam, type DiagnosisSeam } from './diagnosis-seam.ts';
import { UNKNOWN_KUBE_FACTS, type KubeFacts } from './kube-facts.ts';

/** What the watch engine drives: Kubernetes facts for the diagnosis, and whether this replica runs its time-driven part. */
export interface DiagnosisControl {
  /** Replaces what the diagnosis knows about pods and nodes; answers must come from memory. */
  setKubeFacts(facts: KubeFacts): void;
  /** Only the leader detects silence and lets `for` durations and hysteresis elapse; every replica observes heartbeats. */
  setLeader(isLeader: boolean): void;
  readonly isLeader: boolean;
}

/** Statuses a heartbeat cannot report: the diagnosis writes them to the store itself. */
const DIAGNOSED = new Set(['silent', 'probe-broken', 'retired']);

export interface DiagnosisRuntimeOptions {
  config: Pick<CollectorConfig, 'diagnosis' | 'events'>;
  store: Store;
  log: Logger;
  metrics: IngestMetrics;
  /** The clock; tests of the runtime pass their own. */
  now?: () => number;
}

/**
 * The diagnosis inside the running collector: committed heartbeats go to the Diagnoser, a timer advances its time,
 * and what it concludes is written in order — diagnosed statuses with `setInstanceStatus`, events as one stored row
 * per problem (EventRecorder) — then handed to the webhook sink. Writes are chained on one promise so a resolve is
 * never stored before its firing; a failed write is logged and the chain goes on.
 */
export class DiagnosisRuntime implements DiagnosisControl {
  readonly diagnoser: Diagnoser;
  readonly sink: WebhookSink | undefined;
  readonly #seam: DiagnosisSeam;
  readonly #recorder = new EventRecorder();
  readonly #store: Store;
  readonly #log: Logger;
  readonly #metrics: IngestMetrics;
  readonly #now: () => number;
  readonly #tickMs: number;
  readonly #staleAfterMs: number;
  #kube: KubeFacts = UNKNOWN_KUBE_FACTS;
  #leader: boolean;
  #timer: NodeJS.Timeout | undefined;
  #writes: Promise<void> = Promise.resolve();
  #pendingWrites = 0;
  #closed = false;

  constructor(opts: DiagnosisRuntimeOptions) {
    this.#store = opts.store;
    this.#log = opts.log;
    this.#metrics = opts.metrics;
    this.#now = opts.now ?? Date.now;
    this.#tickMs = ms(opts.config.diagnosis.tickInterval);
    this.#staleAfterMs = ms(opts.config.events.staleAfterRestart);
    this.#leader = opts.config.diagnosis.timeDriven;
    // The Diagnoser keeps the facts object it was built with: give it one that always asks the current one.
    const kube: KubeFacts = { podFacts: (uid) => this.#kube.podFacts(uid), nodeFacts: (node) => this.#kube.nodeFacts(node) };
    this.diagnoser = new Diagnoser(diagnosisOptions(opts.config, kube));
    this.#seam = diagnosisSeam(this.diagnoser, (r) => this.#deliver(r), (err) => this.#log.error({ err }, 'diagnosis failed; heartbeats stay committed'));
    const w = opts.config.events.webhook;
    if (w) {
      const secret = w.secret ?? readFileSync(w.secretFile!, 'utf8').trim();
      this.sink = new WebhookSink({
        url: w.url,
        secret,
        timeoutMs: ms(w.timeout),
        queueLimit: w.queueLimit,
        baseDelayMs: ms(w.retry.baseDelay),
        maxDelayMs: ms(w.retry.maxDelay),
        maxAttempts: w.retry.maxAttempts === 0 ? Infinity : w.retry.maxAttempts,
        onDrop: (e, reason) => {
          this.#metrics.webhook.inc({ outcome: 'dropped' });
          this.#log.warn({ event: e.id, type: e.type, reason }, 'webhook sink dropped an event');
        },
        onDelivered: () => this.#metrics.webhook.inc({ outcome: 'delivered' }),
        onRetry: (e, attempt, reason, delayMs) => {
          this.#metrics.webhook.inc({ outcome: 'retry' });
          this.#log.info({ event: e.id, attempt, reason, delayMs }, 'webhook delivery failed; retrying');
        },
      });
    }
  }

  /** Loads firing events of a previous run and starts the timer. */
  async start(): Promise<void> {
    const restored = await this.#metrics.timed('restore_events', this.#recorder.restore(this.#store, this.#now()));
    if (restored > 0) this.#log.info({ restored }, 'firing events from the previous run: kept while the diagnosis raises them again');
    this.#timer = setInterval(() => this.tick(), this.#tickMs);
    this.#timer.unref();
  }

  /** For the group committer: the heartbeats that were new in a committed batch. */
  readonly onCommitted = (heartbeats: Heartbeat[], receivedAt: number): void => {
    if (this.#closed) return;
    this.#seam.onCommitted(heartbeats, receivedAt);
    this.#metrics.diagnosisInstances.set(this.diagnoser.size);
  };

  /** One pass of the time-driven diagnosis (a no-op unless this replica leads). */
  tick(now = this.#now()): void {
    if (!this.#leader || this.#closed) return;
    const started = performance.now();
    this.#seam.tick(now);
    const stale = this.#recorder.restoring ? this.#recorder.staleRows(now, this.#staleAfterMs, new Set(this.diagnoser.openEvents(now).map((e) => e.fingerprint))) : [];
    if (stale.length > 0) {
      this.#log.info({ resolved: stale.length }, 'resolved events of a previous run that the diagnosis did not raise again');
      this.#enqueue(async () => {
        for (const row of stale) await this.#metrics.timed('upsert_event', this.#store.upsertEvent(row));
      });
    }
    this.#metrics.diagnosisInstances.set(this.diagnoser.size);
    this.#metrics.diagnosisTickDuration.observe((performance.now() - started) / 1000);
  }

  setKubeFacts(facts: KubeFacts): void {
    this.#kube = facts;
  }

  setLeader(isLeader: boolean): void {
    if (isLeader !== this.#leader) this.#log.info({ leader: isLeader }, isLeader ? 'running the time-driven diagnosis' : 'another replica runs the time-driven diagnosis');
    this.#leader = isLeader;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** An instance as this replica's diagnosis sees it, or undefined. */
  instance(podUid: string): InstanceSnapshot | undefined {
    return this.diagnoser.instance(podUid.toLowerCase()) ?? this.diagnoser.instance(podUid);
  }

  /** Open events as they stand now, pending ones included (those are never stored: nothing was announced yet). */
  openEvents(): DiagnosisEvent[] {
    return this.diagnoser.openEvents(this.#now());
  }

  /** Resolves when everything concluded so far is written to the store. */
  async settled(): Promise<void> {
    while (this.#pendingWrites > 0) await this.#writes;
  }

  /** Stops the timer, finishes the writes, and stops the sink (what it had not delivered is logged). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.settled();
    const undelivered = (await this.sink?.close()) ?? [];
    if (undelivered.length > 0) this.#log.warn({ undelivered: undelivered.length, ids: undelivered.slice(0, 20).map((e) => e.id) }, 'webhook events not delivered before shutdown');
  }

  #deliver(r: DiagnosisResult): void {
    const statuses = r.transitions.filter((t) => !t.historyOnly && DIAGNOSED.has(t.to));
    const rows = this.#recorder.rows(r.events);
    for (const e of r.events) this.#metrics.events.inc({ type: e.type.replace(/^io\.podpulse\./, ''), status: e.status });
    if (statuses.length === 0 && rows.length === 0) return;
    this.#enqueue(async () => {
      for (const t of statuses) await this.#metrics.timed('set_instance_status', this.#store.setInstanceStatus(t.podUid, t.to, t.at));
      for (const row of rows) await this.#metrics.timed('upsert_event', this.#store.upsertEvent(row));
      // Sent once stored: a receiver that looks the event up in the API finds it.
      for (const e of r.events) this.sink?.enqueue(e);
    });
  }

  #enqueue(work: () => Promise<void>): void {
    this.#pendingWrites++;
    this.#writes = this.#writes
      .then(work)
      .catch((err: unknown) => this.#log.error({ err }, 'storing diagnosis results failed'))
      .finally(() => this.#pendingWrites--);
  }
}
