import type { DiagnosisEvent } from '../../src/protocol/index.ts';
import type { Logger } from '../../src/log/logger.ts';
import { EventBook, type EventSpec } from '../events/event-lifecycle.ts';
import { fingerprint } from '../events/fingerprint.ts';
import type { Store } from '../store/store.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { KubeObject, ObjectEvent, ObjectEventSink, Projection, ResourceType } from './kube/object-event.ts';
import { storedEventRow } from '../events/stored-event-row.ts';
import { occurrenceId, renderSummary, ruleEvidence, ruleEventType } from './rule-event.ts';
import { RuleStateStore, type RuleStateRecord } from './rule-state-store.ts';
import { CEL_ERROR, type EvalInput, type Program } from './rules/cel-runtime.ts';
import type { CompiledRule } from './rules/compile-rule.ts';
import { RuleSet } from './rules/rule-set.ts';

/** An object as the engine holds it: the projected JSON, which the rules' expressions read directly. */
interface Held {
  key: string;
  uid: string;
  plain: KubeObject;
  /** `{ object: plain }` at the current time: the input of every rule without references, built once per version. */
  input: { vars: Readonly<Record<string, unknown>>; nowMs: number };
}

/** One rule on one object that is pending (duration running) or firing (event open). */
interface Entry {
  obj: Held;
  status: 'pending' | 'firing';
  since: number;
  deadline: number;
  firedAt?: number;
  eventId?: string;
  timer?: TimerHandle;
  refs: Record<string, KubeObject | null>;
}

interface RuleRuntime {
  rule: CompiledRule;
  entries: Map<string, Entry>;
  /** Objects passing the filter, kept only for rules that reference other kinds or recheck (bounded). */
  tracked: Map<string, Held>;
  /** Referenced object key → keys of the tracked objects that reference it. */
  dependents: Map<string, Set<string>>;
  refKeyOf: Map<string, string[]>;
  recheck?: TimerHandle;
}

export interface RuleEngineOptions {
  store: Store;
  clock: Clock;
  rules?: RuleSet;
  log?: Logger;
  /** CloudEvents `source`. */
  source?: string;
  /** Objects kept per rule for re-evaluation when a referenced object changes or on recheck. */
  maxTrackedPerRule?: number;
  /** Called with each stored event (for sinks). */
  onEvent?: (e: DiagnosisEvent) => void;
  /**
   * Kinds whose initial list is still under way: rules referencing them hold their verdicts until `markSynced`, so
   * "B does not exist" is not concluded from a list that has not reached B yet.
   */
  unsyncedKinds?: Iterable<string>;
  /** A changed rule reads fields the projection did not keep: the reflectors of these kinds should relist. */
  onResyncNeeded?: (resources: ResourceType[]) => void;
  /** Fraction of the recheck interval used as random jitter (default 0.2). */
  recheckJitter?: number;
}

export interface RuleEngineStats {
  events: number;
  evaluations: number;
  evalErrors: number;
  fired: number;
  resolved: number;
  cancelled: number;
  untracked: number;
}

/**
 * Runs the rules over object events: a matching object schedules a firing at now + duration; an update that no
 * longer matches cancels it; a deletion cancels or resolves; a firing event resolves when its condition stops
 * holding. Pending and firing states are written to the record store before `handle` resolves, so a restart (or a
 * new leader) neither loses nor restarts a duration, and never fires an event twice.
 */
export class RuleEngine implements ObjectEventSink {
  readonly stats: RuleEngineStats = { events: 0, evaluations: 0, evalErrors: 0, fired: 0, resolved: 0, cancelled: 0, untracked: 0 };
  #rules: RuleSet;
  readonly #runtimes = new Map<string, RuleRuntime>();
  /** Referenced kinds: key → projected object, only the fields the rules read. */
  readonly #refIndex = new Map<string, Map<string, Held>>();
  readonly #unsynced: Set<string>;
  readonly #store: Store;
  readonly #states: RuleStateStore;
  readonly #clock: Clock;
  readonly #book: EventBook;
  readonly #opts: RuleEngineOptions;
  readonly #maxTracked: number;
  /**
   * The last verdict of each object-only program and the object it was for: the rules repeating a clause (the same
   * DSL filter entry) evaluate it once per event, without a per-event map.
   */
  readonly #memo = new Map<Program, { of: KubeObject | undefined; v: boolean }>();
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(opts: RuleEngineOptions) {
    this.#opts = opts;
    this.#store = opts.store;
    this.#states = new RuleStateStore(opts.store);
    this.#clock = opts.clock;
    this.#rules = opts.rules ?? new RuleSet();
    this.#book = new EventBook({ source: opts.source ?? '/podpulse/collector/engine', updateMinIntervalMs: 60_000 });
    this.#maxTracked = opts.maxTrackedPerRule ?? 200_000;
    this.#unsynced = new Set(opts.unsyncedKinds ?? []);
    for (const r of this.#rules.rules.values()) this.#runtimes.set(r.name, this.#runtime(r));
  }

  /** Builds the engine and restores persisted states: pending durations keep their deadlines, open events stay open. */
  static async open(opts: RuleEngineOptions): Promise<RuleEngine> {
    const e = new RuleEngine(opts);
    await e.#restore();
    return e;
  }

  get rules(): RuleSet {
    return this.#rules;
  }

  /** The projection the reflector of `kind` should apply before queueing. */
  projection(kind: string): Projection {
    return this.#rules.projection(kind);
  }

  resources(): ResourceType[] {
    return this.#rules.resources();
  }

  handle(event: ObjectEvent): Promise<void> {
    return this.#serial(() => this.#handle(event));
  }

  /** The initial list of `kind` is complete: rules waiting on it decide now. */
  markSynced(kind: string): Promise<void> {
    return this.#serial(async () => {
      if (!this.#unsynced.delete(kind)) return;
      for (const r of this.#rules.referencing(kind)) await this.#reevaluateTracked(this.#runtimes.get(r.name)!);
    });
  }

  /**
   * Replaces the rule set. Removed rules resolve their events and drop their timers; a changed rule re-evaluates the
   * objects it holds (pending, firing, tracked) when its projection already kept what it reads, and otherwise asks
   * for a relist of its kind (`onResyncNeeded`), whose events re-evaluate everything.
   */
  setRules(next: RuleSet): Promise<void> {
    return this.#serial(async () => {
      const prev = this.#rules;
      this.#rules = next;
      const resync = new Map<string, ResourceType>();
      for (const [name, rt] of [...this.#runtimes]) {
        const nr = next.rules.get(name);
        if (nr === rt.rule) continue;
        if (!nr) {
          await this.#dropRule(rt);
          this.#runtimes.delete(name);
          continue;
        }
        const covered = [...nr.fields.keys()].every((k) => isSubset(next.projectedFields(k), prev.projectedFields(k)));
        const old = rt;
        rt.recheck?.cancel();
        const fresh = this.#runtime(nr);
        this.#runtimes.set(name, fresh);
        if (nr.resource.kind !== old.rule.resource.kind) {
          await this.#dropRule(old);
          resync.set(nr.resource.kind, nr.resource);
          continue;
        }
        fresh.entries = old.entries;
        fresh.tracked = old.tracked;
        fresh.dependents = old.dependents;
        fresh.refKeyOf = old.refKeyOf;
        if (covered) {
          const keys = new Set([...fresh.entries.keys(), ...fresh.tracked.keys()]);
          for (const key of keys) {
            const held = fresh.entries.get(key)?.obj ?? fresh.tracked.get(key);
            if (held) await this.#evaluate(fresh, held, this.#clock.now());
          }
        } else {
          for (const k of nr.fields.keys()) {
            const res = k === nr.resource.kind ? nr.resource : nr.references.find((r) => r.kind.resource.kind === k)?.kind.resource;
            if (res) resync.set(k, res);
          }
        }
      }
      for (const r of next.rules.values()) {
        if (this.#runtimes.has(r.name)) continue;
        this.#runtimes.set(r.name, this.#runtime(r));
        resync.set(r.resource.kind, r.resource);
        for (const ref of r.references) if (!this.#refIndex.has(ref.kind.resource.kind)) resync.set(ref.kind.resource.kind, ref.kind.resource);
      }
      if (resync.size > 0) this.#opts.onResyncNeeded?.([...resync.values()]);
    });
  }

  /** Resolves when everything queued so far (events, timers, rule changes) is done. */
  idle(): Promise<void> {
    return this.#serial(() => Promise.resolve());
  }

  /** Open (pending and firing) states, for the API and tests. */
  states(): { rule: string; key: string; status: 'pending' | 'firing'; since: number; deadline: number }[] {
    const out = [];
    for (const rt of this.#runtimes.values()) for (const [key, e] of rt.entries) out.push({ rule: rt.rule.name, key, status: e.status, since: e.since, deadline: e.deadline });
    return out;
  }

  /** Stops timers; persisted states stay for the next engine (or leader). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.idle();
    for (const rt of this.#runtimes.values()) {
      rt.recheck?.cancel();
      for (const e of rt.entries.values()) e.timer?.cancel();
    }
  }

  #serial(f: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(f);
    this.#chain = run.catch((err: unknown) => this.#opts.log?.error({ err }, 'rule engine step failed'));
    return run;
  }

  /** For timers: the failure is logged by the chain, and must not become an unhandled rejection. */
  #background(f: () => Promise<void>): void {
    this.#serial(f).catch(() => undefined);
  }

  #runtime(rule: CompiledRule): RuleRuntime {
    const rt: RuleRuntime = { rule, entries: new Map(), tracked: new Map(), dependents: new Map(), refKeyOf: new Map() };
    if (rule.recheckMs !== undefined) this.#armRecheck(rt);
    return rt;
  }

  #armRecheck(rt: RuleRuntime): void {
    const every = rt.rule.recheckMs!;
    const jitter = this.#opts.recheckJitter ?? 0.2;
    const wait = Math.round(every * (1 - jitter / 2 + Math.random() * jitter));
    rt.recheck = this.#clock.at(this.#clock.now() + wait, () => {
      if (this.#closed || this.#runtimes.get(rt.rule.name) !== rt) return;
      this.#background(async () => {
        try {
          await this.#reevaluateTracked(rt);
          for (const e of [...rt.entries.values()]) if (!rt.tracked.has(e.obj.key)) await this.#evaluate(rt, e.obj, this.#clock.now());
        } finally {
          if (!this.#closed && this.#runtimes.get(rt.rule.name) === rt) this.#armRecheck(rt);
        }
      });
    });
  }

  async #handle(ev: ObjectEvent): Promise<void> {
    this.stats.events++;
    const kind = ev.resource.kind;
    const deleted = ev.type === 'DELETED';
    const held: Held | undefined = deleted ? undefined : hold(ev.key, ev.uid, ev.object);
    // One instant for every rule this event reaches.
    const now = this.#clock.now();
    const referencing = this.#rules.referencing(kind);
    if (referencing.length > 0) {
      let idx = this.#refIndex.get(kind);
      if (!idx) this.#refIndex.set(kind, (idx = new Map<string, Held>()));
      if (held) idx.set(ev.key, held);
      else idx.delete(ev.key);
      for (const r of referencing) {
        const rt = this.#runtimes.get(r.name)!;
        for (const k of [...(rt.dependents.get(`${kind}|${ev.key}`) ?? [])]) {
          const a = rt.tracked.get(k);
          if (a) await this.#evaluate(rt, a, now);
        }
      }
    }
    for (const r of this.#rules.forKind(kind)) {
      const rt = this.#runtimes.get(r.name)!;
      // Most evaluations change nothing and return no promise: no await, no microtask.
      const step = held ? this.#evaluate(rt, held, now) : this.#forget(rt, ev.key, 'deleted');
      if (step) await step;
    }
  }

  async #reevaluateTracked(rt: RuleRuntime): Promise<void> {
    for (const h of [...rt.tracked.values()]) await this.#evaluate(rt, h, this.#clock.now());
  }

  /** True, false, or undefined when an expression failed (a missing field is "does not hold", never an exception). */
  #all(obj: Held, programs: CompiledRule['filter'], input: EvalInput): boolean {
    for (const p of programs) {
      let memo: { of: KubeObject | undefined; v: boolean } | undefined;
      if (p.objectOnly) {
        memo = this.#memo.get(p);
        if (memo?.of === obj.plain) {
          if (memo.v) continue;
          return false;
        }
      }
      this.stats.evaluations++;
      const v = p.eval(input);
      if (v === CEL_ERROR) this.stats.evalErrors++;
      if (p.objectOnly) {
        if (memo) {
          memo.of = obj.plain;
          memo.v = v === true;
        } else this.#memo.set(p, { of: obj.plain, v: v === true });
      }
      if (v !== true) return false;
    }
    return true;
  }

  /** Returns a promise only when the verdict changes something to store; otherwise it is synchronous. */
  #evaluate(rt: RuleRuntime, obj: Held, now: number): Promise<void> | undefined {
    const rule = rt.rule;
    const prior = rt.entries.get(obj.key);
    if (prior && prior.obj.uid !== obj.uid) {
      return Promise.resolve(this.#forget(rt, obj.key, 'replaced')).then(() => this.#evaluate(rt, obj, now));
    }
    obj.input.nowMs = now;
    let input: EvalInput = obj.input;
    let refs: Record<string, KubeObject | null> = NO_REFS;
    let refKeys: string[] = NO_KEYS;
    if (rule.references.length > 0) {
      refKeys = [];
      const vars: Record<string, unknown> = { object: obj.plain };
      refs = {};
      for (const ref of rule.references) {
        const name = ref.key.eval(input);
        const rkind = ref.kind.resource;
        const ns = (obj.plain.metadata as { namespace?: unknown } | undefined)?.namespace;
        const rkey = typeof name === 'string' && name !== '' ? (rkind.namespaced && typeof ns === 'string' ? `${ns}/${name}` : name) : undefined;
        const target = rkey === undefined ? undefined : this.#refIndex.get(rkind.kind)?.get(rkey);
        vars[ref.name] = refs[ref.name] = target ? target.plain : null;
        if (rkey !== undefined) refKeys.push(`${rkind.kind}|${rkey}`);
      }
      input = { vars, nowMs: now };
    }
    const passes = this.#all(obj, rule.filter, input);
    if (rule.references.length > 0 || rule.recheckMs !== undefined) this.#track(rt, obj, passes ? refKeys : undefined);
    if (this.#unsynced.size > 0 && rule.references.some((r) => this.#unsynced.has(r.kind.resource.kind))) return undefined;
    const matches = passes && this.#all(obj, rule.condition, input);
    const entry = rt.entries.get(obj.key);
    if (!matches) return entry ? this.#forget(rt, obj.key, 'recovered') : undefined;
    if (entry) {
      entry.obj = obj;
      entry.refs = refs;
      return undefined;
    }
    const e: Entry = { obj, status: 'pending', since: now, deadline: now + rule.durationMs, refs };
    rt.entries.set(obj.key, e);
    return rule.durationMs === 0 ? this.#fire(rt, e, now) : this.#pend(rt, e);
  }

  /** A new pending state: stored before its timer is armed, so a restart finds the deadline. */
  async #pend(rt: RuleRuntime, e: Entry): Promise<void> {
    await this.#states.put(this.#record(rt.rule, e));
    this.#arm(rt, e);
  }

  #untrack(rt: RuleRuntime, key: string): void {
    for (const rk of rt.refKeyOf.get(key) ?? []) {
      const s = rt.dependents.get(rk);
      s?.delete(key);
      if (s?.size === 0) rt.dependents.delete(rk);
    }
    rt.refKeyOf.delete(key);
    rt.tracked.delete(key);
  }

  /** Keeps an object that passes the filter (with what it references) for re-evaluation; `undefined` stops keeping it. */
  #track(rt: RuleRuntime, obj: Held, refKeys: string[] | undefined): void {
    const prev = rt.refKeyOf.get(obj.key);
    if (refKeys !== undefined && prev !== undefined && sameKeys(prev, refKeys)) {
      // Still referencing the same objects (the common update): only the held version changes.
      rt.tracked.set(obj.key, obj);
      return;
    }
    this.#untrack(rt, obj.key);
    if (refKeys === undefined) return;
    if (!rt.tracked.has(obj.key) && rt.tracked.size >= this.#maxTracked) {
      this.stats.untracked++;
      return;
    }
    rt.tracked.set(obj.key, obj);
    rt.refKeyOf.set(obj.key, refKeys);
    for (const rk of refKeys) {
      let s = rt.dependents.get(rk);
      if (!s) rt.dependents.set(rk, (s = new Set()));
      s.add(obj.key);
    }
  }

  #arm(rt: RuleRuntime, e: Entry): void {
    e.timer?.cancel();
    const key = e.obj.key;
    e.timer = this.#clock.at(e.deadline, () => {
      this.#background(async () => {
        if (this.#closed || this.#runtimes.get(rt.rule.name) !== rt || rt.entries.get(key) !== e || e.status !== 'pending') return;
        await this.#fire(rt, e, Math.max(e.deadline, this.#clock.now()));
      });
    });
  }

  #spec(rule: CompiledRule, e: Entry): EventSpec {
    const subject = `${rule.resource.kind}/${e.obj.key}`;
    return {
      type: ruleEventType(rule.name),
      groupKey: `${rule.name}|${e.obj.key}|${e.obj.uid}`,
      severity: rule.severity,
      summary: renderSummary(rule, e.obj.key, e.obj.plain, e.refs),
      subject,
      evidence: ruleEvidence(rule, subject, e.obj.plain, e.refs),
      labels: { ...rule.labels, rule: rule.name, kind: rule.resource.kind },
    };
  }

  async #fire(rt: RuleRuntime, e: Entry, at: number): Promise<void> {
    const spec = this.#spec(rt.rule, e);
    e.status = 'firing';
    e.firedAt = at;
    e.eventId = occurrenceId(fingerprint(spec.type, spec.groupKey), at);
    this.#book.set(spec, 'firing', at);
    await this.#emit(e, at);
    await this.#states.put(this.#record(rt.rule, e));
    this.stats.fired++;
  }

  /** The object no longer matches, was deleted, or the rule went away: cancel a pending firing, resolve an open event. */
  #forget(rt: RuleRuntime, key: string, why: 'recovered' | 'deleted' | 'replaced' | 'rule removed'): Promise<void> | undefined {
    if (why !== 'recovered') this.#untrack(rt, key);
    const e = rt.entries.get(key);
    // Nothing pending or firing: nothing to store (a deletion of an object no rule matched costs no write).
    return e ? this.#close(rt, key, e) : undefined;
  }

  async #close(rt: RuleRuntime, key: string, e: Entry): Promise<void> {
    rt.entries.delete(key);
    e.timer?.cancel();
    if (e.status === 'firing') {
      const spec = this.#spec(rt.rule, e);
      this.#book.resolve(spec.type, spec.groupKey, this.#clock.now());
      await this.#emit(e, this.#clock.now());
      this.stats.resolved++;
    } else this.stats.cancelled++;
    await this.#states.delete(rt.rule.name, key);
  }

  async #emit(e: Entry, at: number): Promise<void> {
    for (const ev of this.#book.take()) {
      await this.#store.upsertEvent(storedEventRow(ev, e.eventId!, e.firedAt ?? at, at));
      this.#opts.onEvent?.(ev);
    }
  }

  async #dropRule(rt: RuleRuntime): Promise<void> {
    rt.recheck?.cancel();
    for (const key of [...rt.entries.keys()]) await this.#forget(rt, key, 'rule removed');
  }

  #record(rule: CompiledRule, e: Entry): RuleStateRecord {
    return {
      rule: rule.name,
      key: e.obj.key,
      uid: e.obj.uid,
      status: e.status,
      since: e.since,
      deadline: e.deadline,
      ...(e.firedAt !== undefined ? { firedAt: e.firedAt } : {}),
      ...(e.eventId !== undefined ? { eventId: e.eventId } : {}),
      object: e.obj.plain,
    };
  }

  async #restore(): Promise<void> {
    for (const r of await this.#states.loadAll()) {
      const rt = this.#runtimes.get(r.rule);
      const held = hold(r.key, r.uid, r.object);
      const e: Entry = { obj: held, status: r.status, since: r.since, deadline: r.deadline, refs: {}, ...(r.firedAt !== undefined ? { firedAt: r.firedAt } : {}), ...(r.eventId !== undefined ? { eventId: r.eventId } : {}) };
      if (!rt) {
        // The rule was removed while no engine ran: its open event resolves, its pending firing is dropped.
        if (r.status === 'firing') await this.#resolveOrphan(r);
        await this.#states.delete(r.rule, r.key);
        continue;
      }
      rt.entries.set(r.key, e);
      if (rt.rule.references.length > 0 || rt.rule.recheckMs !== undefined) rt.tracked.set(r.key, held);
      if (r.status === 'firing') {
        // Reopen the event in the book without emitting it again: it was stored when it fired.
        this.#book.set(this.#spec(rt.rule, e), 'firing', r.firedAt ?? r.deadline);
        this.#book.take();
      } else this.#arm(rt, e);
    }
  }

  async #resolveOrphan(r: RuleStateRecord): Promise<void> {
    const type = ruleEventType(r.rule);
    const fp = fingerprint(type, `${r.rule}|${r.key}|${r.uid}`);
    const page = await this.#store.listEvents({ fingerprint: fp, status: 'firing', limit: 10 });
    const now = this.#clock.now();
    for (const ev of page.items) {
      const body = { ...(ev.body as DiagnosisEvent), status: 'resolved' as const, time: new Date(now).toISOString() };
      await this.#store.upsertEvent({ ...ev, status: 'resolved', body, updatedAt: now, resolvedAt: now });
    }
  }
}

const NO_REFS: Record<string, KubeObject | null> = Object.freeze({});
const NO_KEYS: string[] = [];

function hold(key: string, uid: string, plain: KubeObject): Held {
  return { key, uid, plain, input: { vars: { object: plain }, nowMs: 0 } };
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isSubset(a: readonly string[], b: readonly string[]): boolean {
  const s = new Set(b);
  return a.every((x) => s.has(x));
}
