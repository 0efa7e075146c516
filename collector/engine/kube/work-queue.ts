import type { Logger } from '../../../src/log/logger.ts';
import type { ObjectEvent, ObjectEventSink } from './object-event.ts';
import { compareResourceVersions } from './resource-version.ts';
import { WatermarkTracker, type WatermarkEntry } from './watermark-tracker.ts';

interface Item {
  event: ObjectEvent;
  entry: WatermarkEntry;
  attempts: number;
}

export interface WorkQueueOptions {
  sink: ObjectEventSink;
  log: Logger;
  /** Events handled at once (different keys; one key is never handled twice at the same time). */
  workers?: number;
  /** The watermark to start from (the persisted one on resume). */
  initialWatermark?: string;
  /** Delay before retrying an event whose handling failed; doubles per attempt up to 30 s. */
  retryMs?: number;
}

/**
 * A workqueue keyed by object that holds only the newest version of each: a burst of updates to one pod while it
 * waits costs one evaluation. "Newest" is a numeric comparison of resourceVersions when both are decimal, arrival
 * order otherwise. A key being handled is not handed out again until that finishes; a newer version that arrives
 * meanwhile waits and goes next. Every event is a position for the low watermark; a superseded event is done
 * the moment it is superseded, because handling the newer version covers it.
 */
export class CoalescingWorkQueue {
  readonly watermark: WatermarkTracker;
  readonly #sink: ObjectEventSink;
  readonly #log: Logger;
  readonly #workers: number;
  readonly #retryMs: number;
  readonly #waiting = new Map<string, Item>();
  readonly #processing = new Set<string>();
  #order: string[] = [];
  #orderHead = 0;
  #active = 0;
  #stopped = false;
  #idleWaiters: (() => void)[] = [];
  readonly #retryTimers = new Set<NodeJS.Timeout>();
  /** Events handed to the sink, events dropped as superseded or stale, sink failures. */
  readonly stats = { delivered: 0, coalesced: 0, failures: 0 };

  constructor(opts: WorkQueueOptions) {
    this.#sink = opts.sink;
    this.#log = opts.log;
    this.#workers = opts.workers ?? 4;
    this.#retryMs = opts.retryMs ?? 1000;
    this.watermark = new WatermarkTracker(opts.initialWatermark);
  }

  /** Keys waiting or being handled. */
  get size(): number {
    return this.#waiting.size + this.#processing.size;
  }

  /**
   * Queues an event. `position` is the resourceVersion the watermark may reach once it is handled: the event's
   * own for watch events, undefined for list items (their RVs are older than the list's and not a position).
   */
  add(event: ObjectEvent, position: string | undefined): void {
    const entry = this.watermark.track(position);
    this.#put({ event, entry, attempts: 0 });
  }

  /** A position with nothing to handle (bookmark, end of list). */
  checkpoint(rv: string): void {
    this.watermark.checkpoint(rv);
  }

  #put(item: Item): void {
    const key = item.event.key;
    const prev = this.#waiting.get(key);
    if (prev) {
      const cmp = compareResourceVersions(item.event.resourceVersion, prev.event.resourceVersion);
      // Same uid and not newer: a stale or repeated version; the waiting one already covers it.
      if (cmp !== undefined && cmp <= 0 && prev.event.uid === item.event.uid) {
        this.stats.coalesced++;
        this.watermark.done(item.entry);
        return;
      }
      this.stats.coalesced++;
      this.#waiting.set(key, item);
      this.watermark.done(prev.entry);
      return;
    }
    this.#waiting.set(key, item);
    if (!this.#processing.has(key)) this.#order.push(key);
    this.#pump();
  }

  #next(): string | undefined {
    while (this.#orderHead < this.#order.length) {
      const key = this.#order[this.#orderHead++]!;
      if (this.#orderHead > 4096 && this.#orderHead * 2 > this.#order.length) {
        this.#order = this.#order.slice(this.#orderHead);
        this.#orderHead = 0;
      }
      if (this.#waiting.has(key) && !this.#processing.has(key)) return key;
    }
    return undefined;
  }

  #pump(): void {
    while (!this.#stopped && this.#active < this.#workers) {
      const key = this.#next();
      if (key === undefined) break;
      const item = this.#waiting.get(key)!;
      this.#waiting.delete(key);
      this.#processing.add(key);
      this.#active++;
      void this.#handle(key, item);
    }
    if (this.#active === 0 && (this.#stopped || (this.#waiting.size === 0 && this.#retryTimers.size === 0))) {
      const ws = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of ws) w();
    }
  }

  async #handle(key: string, item: Item): Promise<void> {
    let ok = false;
    try {
      await this.#sink.handle(item.event);
      ok = true;
      this.stats.delivered++;
    } catch (e) {
      this.stats.failures++;
      this.#log.warn({ err: e, key, resourceVersion: item.event.resourceVersion, attempts: item.attempts + 1 }, 'object event handling failed; retrying');
    }
    this.#processing.delete(key);
    this.#active--;
    if (ok) this.watermark.done(item.entry);
    else this.#retry(item);
    if (this.#waiting.has(key)) this.#order.push(key);
    this.#pump();
  }

  #retry(item: Item): void {
    item.attempts++;
    const t = setTimeout(() => {
      this.#retryTimers.delete(t);
      if (this.#stopped) return;
      // A newer version may have arrived meanwhile: it wins, and covers this one.
      if (this.#waiting.has(item.event.key) || this.#processing.has(item.event.key)) this.watermark.done(item.entry);
      else this.#put(item);
      this.#pump();
    }, Math.min(30_000, this.#retryMs * 2 ** (item.attempts - 1)));
    this.#retryTimers.add(t);
  }

  /** Resolves when nothing waits and nothing is being handled. */
  idle(): Promise<void> {
    if (this.#active === 0 && this.#waiting.size === 0 && this.#retryTimers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops handing out events; resolves when the ones being handled finish. Waiting events are dropped. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#retryTimers) clearTimeout(t);
    this.#retryTimers.clear();
    while (this.#active > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }
}
