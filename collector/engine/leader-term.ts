import { createHash } from 'node:crypto';
import type { Logger } from '../../src/log/logger.ts';
import type { DiagnosisEvent } from '../../src/protocol/index.ts';
import type { DiagnosisControl } from '../diagnosis/diagnosis-runtime.ts';
import { KubeFactsIndex } from '../diagnosis/kube-facts-index.ts';
import type { Store } from '../store/store.ts';
import type { Clock } from './clock.ts';
import { FanOutSink } from './fan-out-sink.ts';
import { KindWatch } from './kind-watch.ts';
import type { KubeClient } from './kube/kube-client.ts';
import type { ObjectEventSink, Projection, ResourceType } from './kube/object-event.ts';
import { RuleEngine } from './rule-engine.ts';
import { kindInfo } from './rules/kinds.ts';
import { resourceName } from './kube/resource-path.ts';
import { buildProjection, describePaths } from './rules/projection.ts';
import type { RuleRegistry } from './rules/rule-registry.ts';
import type { RuleSet } from './rules/rule-set.ts';

export interface LeaderTermOptions {
  client: KubeClient;
  store: Store;
  log: Logger;
  clock: Clock;
  registry: RuleRegistry;
  facts: KubeFactsIndex;
  diagnosis: DiagnosisControl;
  pageSize: number;
  streamingList: boolean;
  backoff: { initialMs: number; maxMs: number };
  rulesRefreshMs: number;
  /**
   * The time-driven diagnosis waits for the facts' initial lists, so that the silence of a pod deleted meanwhile is
   * not alarmed; after this long without them it runs anyway, knowing less.
   */
  factsWaitMs?: number;
  source?: string;
  onEvent?: (e: DiagnosisEvent) => void;
}

const FACT_KINDS = Object.keys(KubeFactsIndex.fields);

/** Kinds some rule references (their objects live in the engine's memory, like the facts). */
function referencedKinds(set: RuleSet): Set<string> {
  const out = new Set<string>();
  for (const r of set.rules.values()) for (const ref of r.references) out.add(ref.kind.resource.kind);
  return out;
}

/**
 * What the leader runs, from the moment it wins the Lease until it loses or gives it up: the rule engine (opened on
 * the persisted rule states, so pending durations keep their deadlines) and one reflector per kind the rules or the
 * Kubernetes facts need, resuming from the persisted watermarks. Memory-only indexes (facts, referenced objects) are
 * filled by one read of the current state before a resumed watch replays what changed since its watermark.
 */
export class LeaderTerm {
  readonly engine: RuleEngine;
  readonly watches = new Map<string, KindWatch>();
  readonly #o: LeaderTermOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #ready: Promise<void>;
  #refresh: NodeJS.Timeout | undefined;
  #ended = false;

  private constructor(o: LeaderTermOptions, engine: RuleEngine) {
    this.#o = o;
    this.#log = o.log;
    this.engine = engine;
    this.#ready = this.#begin().catch((err: unknown) => this.#log.error({ err }, 'starting the leader term failed'));
  }

  /** Opens the rule engine and starts the watches; `ready` resolves once every kind has its initial state. */
  static async begin(o: LeaderTermOptions): Promise<LeaderTerm> {
    try {
      await o.registry.refresh();
    } catch (err) {
      o.log.warn({ err }, 'could not re-read the stored rules; using those loaded');
    }
    const set = o.registry.set;
    const holder: { term?: LeaderTerm } = {};
    const engine = await RuleEngine.open({
      store: o.store,
      clock: o.clock,
      rules: set,
      log: o.log.child({ component: 'rule-engine' }),
      ...(o.source !== undefined ? { source: o.source } : {}),
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
      unsyncedKinds: referencedKinds(set),
      onResyncNeeded: (resources) => holder.term?.resync(resources),
    });
    return (holder.term = new LeaderTerm(o, engine));
  }

  /** Every kind listed (or resumed) and handed to its sinks; the time-driven diagnosis runs from then on. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /** Kinds to watch, with what they are watched for. */
  #needed(set: RuleSet): Map<string, ResourceType> {
    const kinds = new Map<string, ResourceType>();
    for (const r of set.resources()) kinds.set(r.kind, r);
    for (const k of FACT_KINDS) kinds.set(k, kindInfo(k)!.resource);
    return kinds;
  }

  #paths(kind: string): (readonly string[])[] {
    const paths: (readonly string[])[] = [...(KubeFactsIndex.fields[kind] ?? [])];
    for (const r of this.engine.rules.rules.values()) paths.push(...(r.fields.get(kind) ?? []));
    return paths;
  }

  /** The union of what the rules and the facts read of a kind: one reflector serves both. */
  #projection(kind: string): Projection {
    return buildProjection(this.#paths(kind));
  }

  /**
   * What the events of a kind were evaluated with: its projection and the rules reading it. Kept beside the
   * watermark; a leader that finds it changed (rules edited while no engine ran) relists that kind, since resuming
   * would show the new rules only the objects that change from now on.
   */
  #fingerprint(kind: string): string {
    const rules = [...this.engine.rules.rules.values()].filter((r) => r.fields.has(kind) || r.resource.kind === kind).map((r): [string, unknown] => [r.name, r.source]);
    rules.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    return createHash('sha256').update(JSON.stringify({ fields: describePaths(this.#paths(kind)), rules })).digest('base64url');
  }

  #fingerprintKey(res: ResourceType): string {
    return `engine/rules/${resourceName(res)}`;
  }

  /** Records the fingerprint once the kind's current reflector has handed its initial state over. */
  #recordFingerprint(w: KindWatch): void {
    const fp = this.#fingerprint(w.resource.kind);
    const signal = this.#abort.signal;
    void w.synced(signal).then(async () => {
      if (signal.aborted || this.watches.get(w.resource.kind) !== w) return;
      await this.#o.store.setWatermark(this.#fingerprintKey(w.resource), fp);
    }).catch((err: unknown) => this.#log.warn({ err, kind: w.resource.kind }, 'could not record the rules fingerprint'));
  }

  #sinks(kind: string): readonly ObjectEventSink[] {
    const out: ObjectEventSink[] = [];
    if (this.engine.rules.resources().some((r) => r.kind === kind)) out.push(this.engine);
    if (FACT_KINDS.includes(kind)) out.push(this.#o.facts);
    return out;
  }

  /** What must be refilled when the watch resumes: the facts index, and the engine's index of referenced kinds. */
  #memorySinks(kind: string): readonly ObjectEventSink[] {
    const out: ObjectEventSink[] = [];
    if (referencedKinds(this.engine.rules).has(kind)) out.push(this.engine);
    if (FACT_KINDS.includes(kind)) out.push(this.#o.facts);
    return out;
  }

  #watch(resource: ResourceType): KindWatch {
    const o = this.#o;
    const w = new KindWatch({
      client: o.client,
      resource,
      log: o.log,
      sink: new FanOutSink(() => this.#sinks(resource.kind)),
      store: o.store,
      projection: this.#projection(resource.kind),
      pageSize: o.pageSize,
      streamingList: o.streamingList,
      backoff: o.backoff,
    });
    this.watches.set(resource.kind, w);
    return w;
  }

  async #begin(): Promise<void> {
    const signal = this.#abort.signal;
    const kinds = [...this.#needed(this.engine.rules).values()];
    const relistAfterResume: KindWatch[] = [];
    for (const res of kinds) {
      const w = this.#watch(res);
      const resumes = (await w.persistedWatermark()) !== undefined;
      const stored = resumes ? await this.#o.store.getWatermark(this.#fingerprintKey(res)) : undefined;
      const memory = this.#memorySinks(res.kind);
      if (resumes && stored !== this.#fingerprint(res.kind)) {
        // Resume first (the index at the watermark), then relist from that index: deletions are still found.
        this.#log.info({ kind: res.kind }, 'the rules for this kind changed while no engine ran; relisting it');
        relistAfterResume.push(w);
      } else if (resumes && memory.length > 0) {
        const n = await w.prime(new FanOutSink(() => memory), signal);
        this.#log.info({ kind: res.kind, objects: n }, 'read the current state into memory before resuming the watch');
      }
      if (signal.aborted) return;
      w.start();
    }
    for (const w of relistAfterResume) {
      await w.synced(signal);
      if (signal.aborted) return;
      w.relist();
    }
    for (const w of this.watches.values()) this.#recordFingerprint(w);
    this.#refresh = setInterval(() => {
      this.#o.registry.refresh().catch((err: unknown) => this.#log.warn({ err }, 'could not re-read the stored rules'));
    }, this.#o.rulesRefreshMs);
    this.#refresh.unref();
    const waitMs = this.#o.factsWaitMs ?? 60_000;
    const fallback = setTimeout(() => {
      if (signal.aborted) return;
      this.#log.warn({ waitedMs: waitMs }, 'the Kubernetes facts are still listing; running the time-driven diagnosis without them meanwhile');
      this.#o.diagnosis.setLeader(true);
    }, waitMs);
    fallback.unref();
    try {
      for (const [kind, w] of this.watches) {
        await w.synced(signal);
        if (signal.aborted) return;
        await this.engine.markSynced(kind);
      }
    } finally {
      clearTimeout(fallback);
    }
    if (!signal.aborted) {
      this.#o.diagnosis.setLeader(true);
      this.#log.info({ kinds: [...this.watches.keys()] }, 'engine running: every watched kind has its initial state');
    }
  }

  /**
   * The rules changed: new kinds get a reflector (a fresh list), kinds no longer needed stop, and every kind's
   * projection follows the new rules. Called after the engine has taken the new rules.
   */
  async applyRules(set: RuleSet): Promise<void> {
    if (this.#ended) return;
    await this.engine.setRules(set);
    const needed = this.#needed(set);
    for (const [kind, w] of [...this.watches]) {
      if (needed.has(kind)) w.setProjection(this.#projection(kind));
      else {
        this.watches.delete(kind);
        await w.stop();
        this.#log.info({ kind }, 'no rule reads this kind any more; watch stopped');
      }
    }
    for (const [kind, res] of needed) if (!this.watches.has(kind)) this.#watch(res).start(true);
    for (const w of this.watches.values()) this.#recordFingerprint(w);
  }

  /** The engine needs these kinds listed again (a changed rule reads fields the projection did not keep). */
  resync(resources: ResourceType[]): void {
    if (this.#ended) return;
    for (const res of resources) {
      const w = this.watches.get(res.kind);
      if (!w) continue;
      w.setProjection(this.#projection(res.kind));
      w.relist();
    }
  }

  /** Stops the watches (watermarks flushed) and the engine's timers; persisted states wait for the next leader. */
  async end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#abort.abort();
    clearInterval(this.#refresh);
    this.#o.diagnosis.setLeader(false);
    await this.#ready;
    await Promise.all([...this.watches.values()].map((w) => w.stop()));
    await this.engine.close();
  }
}
