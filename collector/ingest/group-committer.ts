import { PodpulseError } from '../../src/errors.ts';
import type { Logger } from '../../src/log/logger.ts';
import type { Heartbeat } from '../../src/protocol/heartbeat.ts';
import type { IngestOutcome, Store } from '../store/store.ts';

/** The write queue is full: answer 429 and let the sidecar retry (it spools meanwhile). */
export class QueueFullError extends PodpulseError {
  constructor(message: string) {
    super('PODPULSE_ERR_OVERLOADED', message);
    this.name = 'QueueFullError';
  }
}

/** Called after a batch committed and its requests were answered, with the heartbeats that were new (duplicates left out). Must not throw. */
export type OnCommitted = (heartbeats: Heartbeat[], receivedAt: number) => void;

export interface GroupCommitterOptions {
  store: Pick<Store, 'ingest'>;
  /** A transaction takes whole requests until it holds at least this many heartbeats. */
  maxBatchRows?: number;
  /** Heartbeats waiting (not yet in a transaction) above which submit() refuses: the bound on queued memory. */
  maxQueuedRows?: number;
  /**
   * Extra wait of an idle committer for company before a transaction starts (0..25 ms). 0, the default, is group
   * commit without a fixed delay: a heartbeat arriving with nothing in flight is committed in the same event-loop
   * turn, together with every request parsed in that turn; while a transaction runs, the next batch gathers. A fixed
   * wait only added latency: under load batches form behind the commit in flight anyway, and when idle nobody comes.
   */
  lingerMs?: number;
  /**
   * Transactions allowed at once: 1 for SQLite (one writer); more for PostgreSQL, where a commit waits on the
   * network and the server's WAL flush and several overlap. Each request's heartbeats stay in one transaction.
   */
  maxInFlight?: number;
  /**
   * Heartbeats that must be waiting before a transaction starts beside one already in flight (default 8, at most
   * maxBatchRows). No two batches wait on each other's rows (per-app rollups are appended as deltas), so a
   * transaction in flight is time the next batch would otherwise spend queued; a small floor keeps a trickle from
   * paying a transaction per heartbeat.
   */
  overlapRows?: number;
  onCommitted?: OnCommitted | undefined;
  /** Seconds and rows per commit, and the queue depth, for metrics. */
  observe?: { commit(seconds: number, rows: number, ok: boolean): void; depth(rows: number): void } | undefined;
  log: Logger;
}

interface Pending {
  heartbeats: readonly Heartbeat[];
  resolve: (o: IngestOutcome[]) => void;
  reject: (e: Error) => void;
}

/**
 * Group commit: heartbeats from concurrent requests wait in a bounded queue and are written together, one
 * transaction per batch, one transaction at a time. Each request's promise settles only when the transaction
 * holding its heartbeats committed (or failed), so a 2xx always means durable. While a transaction runs, the next
 * batch gathers; under load batches grow, which is what keeps the store's per-commit cost from limiting throughput.
 */
export class GroupCommitter {
  readonly #opts: Required<Omit<GroupCommitterOptions, 'onCommitted' | 'observe'>> & Pick<GroupCommitterOptions, 'onCommitted' | 'observe'>;
  #queue: Pending[] = [];
  #queuedRows = 0;
  readonly #flushing = new Set<Promise<void>>();
  /** onCommitted calls queued after their batch's answers; close() waits for them. */
  readonly #hooks = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #closed = false;

  constructor(opts: GroupCommitterOptions) {
    const maxBatchRows = opts.maxBatchRows ?? 1000;
    this.#opts = { maxBatchRows, maxQueuedRows: 20_000, lingerMs: 0, maxInFlight: 1, overlapRows: Math.min(8, maxBatchRows), ...opts };
  }

  /** Heartbeats waiting for a transaction. */
  get depth(): number {
    return this.#queuedRows;
  }

  /** Resolves with one outcome per heartbeat once committed; rejects with QueueFullError at once when full. */
  submit(heartbeats: readonly Heartbeat[]): Promise<IngestOutcome[]> {
    if (this.#closed) return Promise.reject(new QueueFullError('the collector is shutting down'));
    if (this.#queuedRows + heartbeats.length > this.#opts.maxQueuedRows) {
      return Promise.reject(new QueueFullError(`write queue full (${this.#queuedRows} heartbeats waiting, limit ${this.#opts.maxQueuedRows})`));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ heartbeats, resolve, reject });
      this.#queuedRows += heartbeats.length;
      this.#opts.observe?.depth(this.#queuedRows);
      this.#schedule();
    });
  }

  #schedule(afterCommit = false): void {
    if (this.#flushing.size >= this.#opts.maxInFlight || this.#timer || this.#immediate || this.#queue.length === 0) return;
    if (this.#flushing.size > 0 && this.#queuedRows < this.#opts.overlapRows) return;
    const run = () => {
      this.#timer = undefined;
      this.#immediate = undefined;
      const p: Promise<void> = this.#flush().finally(() => {
        this.#flushing.delete(p);
        this.#schedule(true);
      });
      this.#flushing.add(p);
      // With room for another transaction and a backlog, queued work need not wait for this one.
      this.#schedule(true);
    };
    // Heartbeats that queued during a commit have waited already: commit them in this loop turn, after the I/O
    // phase has parsed whatever else arrived. Only an idle queue lingers, to let concurrent requests join.
    if (afterCommit || this.#opts.lingerMs <= 0 || this.#queuedRows >= this.#opts.maxBatchRows) this.#immediate = setImmediate(run);
    else this.#timer = setTimeout(run, this.#opts.lingerMs);
  }

  async #flush(): Promise<void> {
    let take = 0;
    let rows = 0;
    while (take < this.#queue.length && rows < this.#opts.maxBatchRows) rows += this.#queue[take++]!.heartbeats.length;
    // One splice per batch, not a shift per request: a backlog of 20,000 requests (a reconnection storm) has an
    // array too large for V8 to shift in place, and each shift would copy all of it.
    const batch = this.#queue.splice(0, take);
    this.#queuedRows -= rows;
    this.#opts.observe?.depth(this.#queuedRows);
    const all = batch.flatMap((p) => p.heartbeats);
    const receivedAt = Date.now();
    const started = performance.now();
    let outcomes: IngestOutcome[];
    try {
      outcomes = await this.#opts.store.ingest(all, receivedAt);
    } catch (err) {
      this.#opts.observe?.commit((performance.now() - started) / 1000, rows, false);
      this.#opts.log.error({ err, rows }, 'store commit failed; the batch is not acknowledged');
      const e = err instanceof Error ? err : new Error(String(err));
      for (const p of batch) p.reject(e);
      return;
    }
    this.#opts.observe?.commit((performance.now() - started) / 1000, rows, true);
    let at = 0;
    for (const p of batch) {
      p.resolve(outcomes.slice(at, at + p.heartbeats.length));
      at += p.heartbeats.length;
    }
    const hook = this.#opts.onCommitted;
    if (!hook) return;
    const fresh = all.filter((_, i) => !outcomes[i]?.duplicate);
    if (fresh.length === 0) return;
    // After the answers: the requests resolved above reply in the microtasks that follow this function, and the hook
    // (diagnosis) runs in the next check phase, so its cost is not in their latency. It is queued before the next
    // batch's commit (scheduled when this flush settles), so hooks never pile up behind commits.
    const done = new Promise<void>((resolve) => {
      setImmediate(() => {
        try {
          hook(fresh, receivedAt);
        } catch (err) {
          // The data is committed and acknowledged; a diagnosis bug must not turn that into an error for the agent.
          this.#opts.log.error({ err }, 'onCommitted hook failed');
        }
        this.#hooks.delete(done);
        resolve();
      });
    });
    this.#hooks.add(done);
  }

  /** Refuses new work, commits what is queued, and resolves when the last transaction finished. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#queue.length > 0 || this.#flushing.size > 0 || this.#timer || this.#immediate) {
      if (this.#timer) clearTimeout(this.#timer);
      if (this.#immediate) clearImmediate(this.#immediate);
      this.#timer = undefined;
      this.#immediate = undefined;
      if (this.#flushing.size > 0) await Promise.all(this.#flushing);
      else if (this.#queue.length > 0) await this.#flush();
    }
    await Promise.all(this.#hooks);
  }
}
