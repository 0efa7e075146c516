import { performance } from 'node:perf_hooks';
import type { CheckContext, CheckDefinition, Outcome } from '../checks/check.ts';
import type { Logger } from '../src/log/logger.ts';
import type { CheckKind } from '../src/protocol/checks/check-config.ts';
import type { ReasonCode } from '../src/protocol/codes.ts';
import type { CheckResult } from '../src/protocol/heartbeat.ts';
import type { CheckLoaders, CheckRegistry, ScheduledCheck } from './scheduled-check.ts';
import { Semaphore } from './semaphore.ts';
import { toCheckResult } from './to-check-result.ts';

/** How the runner is built; everything a check may touch comes through here (tests inject it). */
export interface CheckRunnerOptions {
  registry: CheckRegistry | CheckLoaders;
  /** Checks running at once; more wait for a slot, and the wait counts against their deadline. */
  concurrency: number;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  collectorUrl?: string | undefined;
  /** Wall clock (ms since the epoch) for `at` and the check context. */
  now?: () => number;
  /**
   * After the deadline aborts a check, how long it may still answer with its own verdict (a mount check that
   * reports MOUNT_HUNG, a TCP check that reports TCP_TIMEOUT). Past it the result is CHECK_TIMEOUT.
   */
  graceMs?: number;
}

/** An operation that has not settled yet; it may outlive its deadline (an uncancellable stat on a hung mount). */
interface Outstanding {
  checkId: string;
  startedAt: number;
  /** performance.now() value at which it is past its deadline, i.e. hung. */
  hungAfter: number;
  settled: Promise<void>;
  settle: () => void;
}

type CheckLoader = () => Promise<CheckDefinition<CheckKind>>;

class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/**
 * Runs one check at a time per id and owns what checks must not: the deadline (AbortController + timer), timing,
 * error capture, a global concurrency cap, and the never-stall rules. An operation that does not settle keeps its
 * check id and its paths busy; the next run of that check, or of any check on the same path, reports HUNG (or
 * MOUNT_HUNG) at once and starts nothing, so one hung NFS mount cannot pile up operations or stall other checks.
 */
export class CheckRunner {
  readonly #opts: CheckRunnerOptions;
  readonly #slots: Semaphore;
  readonly #pending = new Map<string, Outstanding>();
  readonly #paths = new Map<string, Outstanding>();
  readonly #state = new Map<string, Map<string, unknown>>();
  /** Definitions of the kinds loaded so far (the registry may hold loaders), and loads under way. */
  readonly #loaded = new Map<CheckKind, CheckDefinition<CheckKind>>();
  readonly #loading = new Map<CheckKind, Promise<CheckDefinition<CheckKind>>>();
  readonly #now: () => number;

  constructor(opts: CheckRunnerOptions) {
    this.#opts = opts;
    this.#slots = new Semaphore(opts.concurrency);
    this.#now = opts.now ?? Date.now;
  }

  /** Operations started and not settled yet (hung ones included). */
  get outstanding(): number {
    return this.#pending.size;
  }

  /** Loads the definition of `kind`; concurrent first runs of one kind share one load, a failed one is retried. */
  async #load(kind: CheckKind, loader: CheckLoader): Promise<CheckDefinition<CheckKind>> {
    let loading = this.#loading.get(kind);
    if (!loading) {
      loading = loader();
      this.#loading.set(kind, loading);
    }
    try {
      const def = await loading;
      this.#loaded.set(kind, def);
      return def;
    } finally {
      this.#loading.delete(kind);
    }
  }

  /** Drops the per-check state of a removed check. */
  forget(id: string): void {
    this.#state.delete(id);
  }

  /** Runs `check` once; resolves at the latest shortly after its deadline, whatever the check does. */
  async run(check: ScheduledCheck): Promise<CheckResult> {
    // A kind whose module is not loaded yet loads it here, before the clock starts (its start-up is not the
    // check's latency); afterwards the definition is at hand and the run proceeds without yielding, as before.
    const entry = this.#opts.registry[check.kind] as CheckDefinition<CheckKind> | CheckLoader | undefined;
    let def = typeof entry === 'function' ? this.#loaded.get(check.kind) : entry;
    let loadError: unknown;
    if (typeof entry === 'function' && !def) {
      try {
        def = await this.#load(check.kind, entry);
      } catch (err) {
        loadError = err;
      }
    }
    const at = this.#now();
    const t0 = performance.now();
    const hungCode: ReasonCode = check.kind === 'mount' ? 'MOUNT_HUNG' : 'HUNG';
    const done = (o: Outcome, latency = performance.now() - t0): CheckResult => toCheckResult(check.id, check.kind, o, latency, at);

    const prev = this.#pending.get(check.id);
    if (prev) {
      return done({ status: 'fail', code: hungCode, message: `the previous run started ${Math.round(t0 - prev.startedAt)}ms ago is still pending; no new run started` }, 0);
    }
    if (loadError !== undefined) return done({ status: 'unknown', code: 'CHECK_ERROR', message: `loading check kind "${check.kind}": ${errorText(loadError)}` }, 0);
    if (!def) return done({ status: 'unknown', code: 'CHECK_MISCONFIGURED', message: `check kind "${check.kind}" is not available in this worker` }, 0);
    let paths: string[];
    try {
      paths = [...new Set(def.paths?.(check.spec as never) ?? [])];
    } catch (err) {
      return done({ status: 'unknown', code: 'CHECK_ERROR', message: `paths(): ${errorText(err)}` }, 0);
    }
    for (const p of paths) {
      const holder = this.#paths.get(p);
      if (holder && t0 > holder.hungAfter) {
        return done({ status: 'fail', code: hungCode, message: `an operation on ${p} (check ${holder.checkId}) has been pending for ${Math.round(t0 - holder.startedAt)}ms; no new run started` }, 0);
      }
    }

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeadlineError(`deadline of ${check.timeoutMs}ms passed`)), check.timeoutMs);
    let release: (() => void) | undefined;
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((r) => (settle = r));
    const me: Outstanding = { checkId: check.id, startedAt: t0, hungAfter: t0 + check.timeoutMs, settled, settle };
    this.#pending.set(check.id, me);
    let started = false;
    try {
      // Wait, within our own deadline, for a live operation on the same path to finish: one operation per path.
      for (const p of paths) {
        for (let holder = this.#paths.get(p); holder; holder = this.#paths.get(p)) {
          if (!(await settledBefore(holder.settled, controller.signal))) {
            return done({ status: 'fail', code: hungCode, message: `an operation on ${p} (check ${holder.checkId}) did not finish within ${check.timeoutMs}ms; no new run started` });
          }
        }
        this.#paths.set(p, me);
      }
      try {
        release = await this.#slots.acquire(controller.signal);
      } catch {
        return done({ status: 'unknown', code: 'CHECK_TIMEOUT', message: `no free slot within ${check.timeoutMs}ms (concurrency ${this.#slots.size})` });
      }
      const ctx = this.#context(check, controller.signal, at + check.timeoutMs);
      const opStart = performance.now();
      started = true;
      const op = Promise.resolve()
        .then(() => def.run(check.spec as never, ctx))
        .then((o): { o: Outcome } | { e: unknown } => ({ o }), (e: unknown) => ({ e }));
      void op.finally(() => this.#finish(me, paths));
      const verdict = await Promise.race([op, afterAbort(controller.signal, this.#opts.graceMs ?? 100)]);
      const latency = performance.now() - opStart;
      if (verdict === 'timeout') return done({ status: 'unknown', code: 'CHECK_TIMEOUT', message: `no result within ${check.timeoutMs}ms` }, latency);
      if ('o' in verdict) return done(verdict.o, latency);
      if (controller.signal.aborted) return done({ status: 'unknown', code: 'CHECK_TIMEOUT', message: `no result within ${check.timeoutMs}ms (${errorText(verdict.e)})` }, latency);
      this.#opts.log.debug({ err: verdict.e, checkId: check.id }, 'check threw');
      return done({ status: 'unknown', code: 'CHECK_ERROR', message: errorText(verdict.e) }, latency);
    } finally {
      clearTimeout(timer);
      // The slot is freed at the deadline even if the operation never settles: a hung target costs its own
      // check and path, never the other checks' capacity.
      release?.();
      if (!started) this.#finish(me, paths);
    }
  }

  #finish(me: Outstanding, paths: string[]): void {
    if (this.#pending.get(me.checkId) === me) this.#pending.delete(me.checkId);
    for (const p of paths) if (this.#paths.get(p) === me) this.#paths.delete(p);
    me.settle();
  }

  #context(check: ScheduledCheck, signal: AbortSignal, deadline: number): CheckContext {
    let state = this.#state.get(check.id);
    if (!state) this.#state.set(check.id, (state = new Map<string, unknown>()));
    return {
      signal,
      log: this.#opts.log.child({ checkId: check.id, kind: check.kind }),
      now: this.#now,
      deadline,
      env: this.#opts.env ?? process.env,
      collectorUrl: this.#opts.collectorUrl,
      state,
    };
  }
}

/** True when `p` settles before the signal aborts. */
function settledBefore(p: Promise<void>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    });
  });
}

/** Resolves 'timeout' `graceMs` after the signal aborts (never, if it does not). */
function afterAbort(signal: AbortSignal, graceMs: number): Promise<'timeout'> {
  return new Promise((resolve) => {
    const fire = (): void => void setTimeout(() => resolve('timeout'), graceMs);
    if (signal.aborted) fire();
    else signal.addEventListener('abort', fire, { once: true });
  });
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
