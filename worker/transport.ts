import { CollectorUnavailableError, retryDelay, type CollectorClient } from '../src/agent/collector-client.ts';
import type { Logger } from '../src/log/logger.ts';
import { API_VERSION } from '../src/protocol/common.ts';
import { HeartbeatAck, type HeartbeatInput } from '../src/protocol/heartbeat.ts';
import type { Spool, SpoolBatch } from './spool.ts';

/** What the collector answered to a delivered heartbeat (or batch: the last seq in it). */
export interface Delivery {
  seq: number;
  configRevision: string;
  commandsPending: boolean;
}

export interface TransportOptions {
  client: Pick<CollectorClient, 'request'>;
  spool: Spool;
  log: Logger;
  random?: () => number;
  onDelivered?: (d: Delivery) => void;
  onFailed?: (f: { seq: number; error: string }) => void;
}

type PostResult = { kind: 'ok'; ack: HeartbeatAck | undefined } | { kind: 'retry'; error: string; retryAfter?: string | string[] | undefined } | { kind: 'refused'; error: string };

/** Beats kept in memory while a request is in flight; past this they go to the spool (disk, bounded). */
const MEMORY_QUEUE = 16;

/**
 * Delivers heartbeats to `POST /v1/heartbeats`, one request at a time and in order: the spool is replayed
 * oldest-first before any new beat is sent, so a receiver sees each boot's seqs ascending. 429, 503, other 5xx and
 * network errors spool the beat and back off (full jitter, Retry-After honoured); any other 4xx is logged once per
 * distinct error and dropped (counted), never retried forever.
 */
export class Transport {
  readonly #opts: TransportOptions;
  readonly #queue: HeartbeatInput[] = [];
  readonly #abort = new AbortController();
  readonly #logged = new Set<string>();
  #attempt = 0;
  #backoffUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopping = false;
  #dropped = 0;
  #delivered = 0;
  #lastRevision = '';

  constructor(opts: TransportOptions) {
    this.#opts = opts;
  }

  /** Heartbeats the collector refused for good (a 4xx other than 429). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Heartbeats delivered (2xx) by this process. */
  get delivered(): number {
    return this.#delivered;
  }

  /** Queues a heartbeat for delivery and returns at once. */
  submit(hb: HeartbeatInput): void {
    this.#queue.push(hb);
    this.#kick();
  }

  /**
   * Graceful stop: tries, ignoring any back-off, to deliver the spool and the queue until `graceMs` has passed,
   * then spools whatever is left and closes the spool.
   */
  async flush(graceMs: number): Promise<{ flushed: number; remaining: number }> {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    const before = this.#delivered;
    const deadline = setTimeout(() => this.#abort.abort(new Error('stop grace period over')), graceMs);
    try {
      if (this.#running) await this.#running;
      this.#backoffUntil = 0;
      if (!this.#abort.signal.aborted) await this.#pump(true);
    } finally {
      clearTimeout(deadline);
      await this.#spill();
      await this.#opts.spool.close();
    }
    return { flushed: this.#delivered - before, remaining: this.#opts.spool.count };
  }

  #kick(): void {
    if (this.#stopping) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#pump(false)
      .catch((err: unknown) => this.#opts.log.error({ err }, 'heartbeat transport failed'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.#kick();
        }
      });
  }

  async #pump(flushing: boolean): Promise<void> {
    for (;;) {
      if (this.#abort.signal.aborted) return;
      const wait = this.#backoffUntil - Date.now();
      if (wait > 0) {
        await this.#spill();
        if (!this.#stopping) this.#timer = setTimeout(() => this.#kick(), wait);
        return;
      }
      if (this.#queue.length > MEMORY_QUEUE) await this.#spill();
      const batch = await this.#opts.spool.oldest();
      if (batch) {
        const r = await this.#post({ apiVersion: API_VERSION, heartbeats: batch.heartbeats });
        if (!(await this.#settleBatch(batch, r)) && flushing) return;
        continue;
      }
      const hb = this.#queue[0];
      if (!hb) return;
      const r = await this.#post(hb);
      if (r.kind === 'ok') {
        this.#queue.shift();
        this.#delivered++;
        this.#attempt = 0;
        this.#report(hb.seq, r.ack);
      } else if (r.kind === 'refused') {
        this.#queue.shift();
        this.#dropped++;
      } else {
        this.#opts.onFailed?.({ seq: hb.seq, error: r.error });
        this.#backOff(r);
        await this.#spill();
        if (flushing) return;
      }
    }
  }

  /** Applies a replay's answer; false when it must be retried later. */
  async #settleBatch(batch: SpoolBatch, r: PostResult): Promise<boolean> {
    if (r.kind === 'ok') {
      await this.#opts.spool.ack(batch);
      this.#delivered += batch.heartbeats.length;
      this.#attempt = 0;
      this.#report(batch.heartbeats.at(-1)!.seq, r.ack);
      return true;
    }
    if (r.kind === 'refused') {
      await this.#opts.spool.drop(batch);
      return true;
    }
    this.#backOff(r);
    return false;
  }

  #report(seq: number, ack: HeartbeatAck | undefined): void {
    if (ack) this.#lastRevision = ack.configRevision;
    this.#opts.onDelivered?.({ seq, configRevision: ack?.configRevision ?? this.#lastRevision, commandsPending: ack?.commandsPending ?? false });
  }

  #backOff(r: { error: string; retryAfter?: string | string[] | undefined }): void {
    const delay = retryDelay(this.#attempt++, r.retryAfter, this.#opts.random);
    this.#backoffUntil = Date.now() + delay;
    this.#opts.log.debug({ err: r.error, delayMs: delay, attempt: this.#attempt }, 'heartbeat not delivered; spooled, backing off');
  }

  /** Moves the in-memory queue to the spool, after anything already there, keeping the order. */
  async #spill(): Promise<void> {
    while (this.#queue.length > 0) await this.#opts.spool.append(this.#queue.shift()!);
  }

  async #post(body: unknown): Promise<PostResult> {
    let res;
    try {
      res = await this.#opts.client.request({ method: 'POST', path: '/v1/heartbeats', body, signal: this.#abort.signal });
    } catch (err) {
      if (err instanceof CollectorUnavailableError) return { kind: 'retry', error: err.message };
      throw err;
    }
    if (res.status >= 200 && res.status < 300) {
      let ack: HeartbeatAck | undefined;
      try {
        const parsed = HeartbeatAck.safeParse(res.json());
        if (parsed.success) ack = parsed.data;
      } catch {
        // A 2xx is a delivery whatever its body; the ack only adds hints.
      }
      return { kind: 'ok', ack };
    }
    const error = `HTTP ${res.status}: ${res.body.toString('utf8', 0, Math.min(res.body.length, 300))}`;
    if (res.status === 429 || res.status === 408 || res.status >= 500) return { kind: 'retry', error, retryAfter: res.headers['retry-after'] };
    if (!this.#logged.has(error)) {
      if (this.#logged.size < 100) this.#logged.add(error);
      this.#opts.log.error({ status: res.status, body: error }, 'the collector refused heartbeats; dropping them (logged once per distinct error)');
    }
    return { kind: 'refused', error };
  }
}
