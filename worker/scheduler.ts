import { performance } from 'node:perf_hooks';
import type { Logger } from '../src/log/logger.ts';
import type { CheckResult } from '../src/protocol/heartbeat.ts';
import type { CheckRunner } from './runner.ts';
import { checkKey, type ScheduledCheck } from './scheduled-check.ts';

/** How the scheduler is built; the clock and randomness are injectable so tests can simulate hours. */
export interface SchedulerOptions {
  runner: Pick<CheckRunner, 'run' | 'forget'>;
  /** Results kept per check (the last failure is kept besides them). */
  historySize: number;
  log: Logger;
  /** Monotonic clock in ms (performance.now by default): wall-clock steps must not bend the schedule. */
  now?: () => number;
  random?: () => number;
  /** Called with every result as it arrives. */
  onResult?: (result: CheckResult) => void;
  /**
   * A new check's first run comes within this window (or its interval, if shorter), so a fresh worker has a full
   * round of results at once; its fixed-rate grid is spread over the whole interval. Default 1000 ms.
   */
  firstRunSpreadMs?: number;
}

/** What the scheduler keeps about one check. */
export interface CheckHistory {
  /** Most recent last. */
  recent: CheckResult[];
  lastFailure?: CheckResult | undefined;
}

interface Entry {
  check: ScheduledCheck;
  key: string;
  /** Run k is due at startAt + k * intervalMs. */
  startAt: number;
  next: number;
  /** When the first run is due (before the grid's first slot); undefined once it has fired. */
  firstAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
  history: CheckHistory;
  stopped: boolean;
}

/**
 * Runs every check at a fixed rate. A new check runs once within the first-run window (about a second), so the
 * first heartbeat can carry a full round; then it joins a grid at a random phase in [0, interval), so pods started
 * together spread their load. The grid's first slot is at least half an interval after that first run (it is
 * pushed one interval on otherwise), so the two never overlap. Grid runs are due at start + k * interval, computed
 * from the start rather than from the previous run, so the schedule never drifts, and slots missed (a paused
 * process) are skipped, not burst. A run is started whether or not the previous one finished: the runner turns
 * that into HUNG.
 */
export class Scheduler {
  readonly #opts: SchedulerOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #random: () => number;

  constructor(opts: SchedulerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => performance.now());
    this.#random = opts.random ?? Math.random;
  }

  /**
   * Replaces the schedule without a restart: added checks start, removed ones stop, changed ones (kind, spec,
   * interval or timeout) restart their schedule; unchanged ones keep their timing and history.
   */
  apply(checks: readonly ScheduledCheck[]): { added: string[]; removed: string[]; changed: string[] } {
    const out = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
    const wanted = new Map(checks.map((c) => [c.id, c]));
    for (const [id, e] of this.#entries) {
      if (!wanted.has(id)) {
        this.#stopEntry(e);
        this.#entries.delete(id);
        this.#opts.runner.forget(id);
        out.removed.push(id);
      }
    }
    const ordered = new Map<string, Entry>();
    for (const c of checks) {
      const key = checkKey(c);
      const old = this.#entries.get(c.id);
      if (old && old.key === key) {
        old.check = c;
        ordered.set(c.id, old);
        continue;
      }
      if (old) {
        this.#stopEntry(old);
        this.#opts.runner.forget(c.id);
        out.changed.push(c.id);
      } else out.added.push(c.id);
      const now = this.#now();
      const phase = this.#random();
      const firstAt = now + phase * Math.min(c.intervalMs, this.#opts.firstRunSpreadMs ?? 1000);
      const startAt = now + phase * c.intervalMs;
      const next = startAt < firstAt + c.intervalMs / 2 ? 1 : 0;
      const e: Entry = { check: c, key, startAt, next, firstAt, timer: undefined, history: { recent: [] }, stopped: false };
      ordered.set(c.id, e);
      this.#arm(e);
    }
    // Keep config order, so heartbeats list checks as configured.
    this.#entries.clear();
    for (const [id, e] of ordered) this.#entries.set(id, e);
    return out;
  }

  /** The latest result of every check that has run, in config order. */
  latest(): CheckResult[] {
    const out: CheckResult[] = [];
    for (const e of this.#entries.values()) {
      const last = e.history.recent.at(-1);
      if (last) out.push(last);
    }
    return out;
  }

  history(id: string): CheckHistory | undefined {
    const e = this.#entries.get(id);
    return e ? { recent: [...e.history.recent], lastFailure: e.history.lastFailure } : undefined;
  }

  /** When run k of `id` is due (for tests and logs). */
  dueAt(id: string, k: number): number | undefined {
    const e = this.#entries.get(id);
    return e ? e.startAt + k * e.check.intervalMs : undefined;
  }

  stop(): void {
    for (const e of this.#entries.values()) this.#stopEntry(e);
    this.#entries.clear();
  }

  #stopEntry(e: Entry): void {
    e.stopped = true;
    if (e.timer) clearTimeout(e.timer);
    e.timer = undefined;
  }

  #arm(e: Entry): void {
    if (e.stopped) return;
    const due = e.firstAt ?? e.startAt + e.next * e.check.intervalMs;
    e.timer = setTimeout(() => this.#fire(e), Math.max(0, due - this.#now()));
  }

  #fire(e: Entry): void {
    if (e.stopped) return;
    if (e.firstAt !== undefined) {
      e.firstAt = undefined;
      this.#arm(e);
      this.#run(e);
      return;
    }
    const { intervalMs } = e.check;
    // A timer may fire a hair early or very late; the slot is the latest one that is due, never an earlier one.
    const slot = Math.max(e.next, Math.floor((this.#now() - e.startAt + 1) / intervalMs));
    if (slot > e.next) this.#opts.log.warn({ checkId: e.check.id, skipped: slot - e.next }, 'skipped missed runs (the process was paused or overloaded)');
    e.next = slot + 1;
    this.#arm(e);
    this.#run(e);
  }

  #run(e: Entry): void {
    void this.#opts.runner.run(e.check).then(
      (r) => this.#record(e, r),
      (err: unknown) => this.#opts.log.error({ err, checkId: e.check.id }, 'runner failed'),
    );
  }

  #record(e: Entry, r: CheckResult): void {
    if (e.stopped) return;
    const h = e.history;
    h.recent.push(r);
    if (h.recent.length > this.#opts.historySize) h.recent.splice(0, h.recent.length - this.#opts.historySize);
    if (r.status === 'fail' || r.status === 'unknown') h.lastFailure = r;
    this.#opts.onResult?.(r);
  }
}
