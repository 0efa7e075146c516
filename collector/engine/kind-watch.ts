import type { Logger } from '../../src/log/logger.ts';
import type { Store } from '../store/store.ts';
import type { KubeClient } from './kube/kube-client.ts';
import { objectKey, type KubeObject, type ObjectEventSink, type Projection, type ResourceType } from './kube/object-event.ts';
import { withIdentity } from './kube/projection.ts';
import { Reflector, type ReflectorStats } from './kube/reflector.ts';
import { collectionPath, resourceName } from './kube/resource-path.ts';

export interface KindWatchOptions {
  client: KubeClient;
  resource: ResourceType;
  log: Logger;
  sink: ObjectEventSink;
  /** Where watermarks persist; undefined for a watch that always lists (the rules ConfigMap). */
  store?: Pick<Store, 'getWatermark' | 'setWatermark'>;
  projection: Projection;
  namespace?: string;
  fieldSelector?: string;
  pageSize: number;
  streamingList: boolean;
  backoff: { initialMs: number; maxMs: number };
}

type Obj = Record<string, unknown>;

/**
 * One watched resource type: a reflector whose projection can change while it runs, and which can be made to
 * relist (a rule now reads fields the projection dropped). A relist replaces the reflector by one that ignores the
 * persisted watermark once and starts from the old key index with every version forgotten, so the new list
 * re-emits every object with the new projection and still reports, as deletes, the objects that went away.
 */
export class KindWatch {
  readonly resource: ResourceType;
  readonly #o: KindWatchOptions;
  readonly #log: Logger;
  #projection: Projection;
  #reflector: Reflector | undefined;
  readonly #retired: ReflectorStats[] = [];
  #stopped = false;
  #chain: Promise<void> = Promise.resolve();

  constructor(opts: KindWatchOptions) {
    this.#o = opts;
    this.resource = opts.resource;
    this.#projection = opts.projection;
    this.#log = opts.log.child({ component: 'kind-watch', resource: resourceName(opts.resource) });
  }

  get reflector(): Reflector | undefined {
    return this.#reflector;
  }

  /** Lists and watches made by every reflector this watch has run, for logs and tests. */
  get stats(): ReflectorStats {
    const all = [...this.#retired, ...(this.#reflector ? [this.#reflector.stats] : [])];
    const sum: Record<string, number> = {};
    for (const s of all) for (const [k, v] of Object.entries(s) as [string, number][]) sum[k] = (sum[k] ?? 0) + v;
    return sum as unknown as ReflectorStats;
  }

  setProjection(p: Projection): void {
    this.#projection = p;
  }

  /** The watermark this kind resumes from, if one was persisted. */
  async persistedWatermark(): Promise<string | undefined> {
    if (!this.#o.store) return undefined;
    return this.#o.store.getWatermark(this.#key());
  }

  /** Starts following: from the persisted watermark, or (`relist`) from a fresh list. Resolves at once. */
  start(relist = false): void {
    this.#run(() => this.#startReflector(relist, undefined));
  }

  /** Replaces the reflector by one that lists again (see the class comment). */
  relist(): void {
    this.#run(async () => {
      const old = this.#reflector;
      if (old) {
        await old.stop();
        this.#retired.push(old.stats);
      }
      this.#log.info('relisting: the rules now read fields the projection did not keep');
      this.#startReflector(true, old);
    });
  }

  /**
   * Resolves when the current reflector has its initial state and has handed all of it to the sink; never
   * rejects, and resolves early when `signal` aborts or the watch stops.
   */
  async synced(signal?: AbortSignal): Promise<void> {
    await this.#chain;
    const r = this.#reflector;
    if (!r) return;
    const aborted = new Promise<void>((resolve) => {
      if (signal?.aborted) resolve();
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([r.synced.catch(() => undefined), aborted]);
    if (signal?.aborted || this.#stopped) return;
    await Promise.race([r.queue.idle(), aborted]);
  }

  /**
   * Reads the current state once, projected, without a reflector, and hands each object to `sink` as ADDED: fills
   * memory-only indexes (Kubernetes facts, referenced objects) when the reflector resumes from a watermark and so
   * re-emits only what changed since.
   */
  async prime(sink: ObjectEventSink, signal: AbortSignal): Promise<number> {
    const project = withIdentity(this.#projection);
    const path = collectionPath(this.resource, this.#o.namespace);
    for (;;) {
      const items: KubeObject[] = [];
      let cont: string | undefined;
      try {
        do {
          const query = { limit: String(this.#o.pageSize), continue: cont, fieldSelector: this.#o.fieldSelector };
          const meta = await this.#o.client.list(path, { query, signal }, (item) => items.push(project(item)));
          cont = meta.continue || undefined;
        } while (cont && !signal.aborted);
      } catch (e) {
        if (signal.aborted) return 0;
        this.#log.warn({ err: e }, 'could not read the current state; retrying');
        await new Promise((r) => setTimeout(r, this.#o.backoff.initialMs));
        continue;
      }
      for (const o of items) {
        const m = o.metadata as Obj;
        const key = objectKey(m.namespace as string | undefined, String(m.name));
        await sink.handle({ type: 'ADDED', resource: this.resource, key, uid: String(m.uid), resourceVersion: String(m.resourceVersion), object: o });
      }
      return items.length;
    }
  }

  /** Stops the reflector; its watermark is flushed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#chain;
    await this.#reflector?.stop();
  }

  #key(): string {
    return this.#reflector?.watermarkKey ?? this.#make(undefined).watermarkKey;
  }

  #run(step: () => void | Promise<void>): void {
    this.#chain = this.#chain.then(async () => {
      if (!this.#stopped) await step();
    }).catch((err: unknown) => this.#log.error({ err }, 'kind watch step failed'));
  }

  #make(store: KindWatchOptions['store']): Reflector {
    const o = this.#o;
    return new Reflector({
      client: o.client,
      resource: o.resource,
      sink: o.sink,
      log: o.log,
      ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
      ...(o.fieldSelector !== undefined ? { fieldSelector: o.fieldSelector } : {}),
      // The reflector keeps the function it is given: route through the current projection.
      projection: (obj) => this.#projection(obj),
      ...(store ? { watermarks: store } : {}),
      pageSize: o.pageSize,
      streamingList: o.streamingList,
      backoff: o.backoff,
    });
  }

  #startReflector(relist: boolean, previous: Reflector | undefined): void {
    const store = this.#o.store;
    let hide = relist;
    // A relist must not resume: the first read of the watermark answers "none"; writes go through.
    const watermarks = store && {
      getWatermark: (k: string) => (hide ? ((hide = false), Promise.resolve(undefined)) : store.getWatermark(k)),
      setWatermark: (k: string, v: string) => store.setWatermark(k, v),
    };
    const r = this.#make(watermarks);
    if (previous) {
      // Versions forgotten: each listed object differs from its entry and is re-emitted; missing ones are deletes.
      for (const key of previous.index.keys()) {
        const e = previous.index.get(key);
        if (e) r.index.set(key, e.uid, '');
      }
    }
    this.#reflector = r;
    void r.start().catch(() => undefined);
  }
}
