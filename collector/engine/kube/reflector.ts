import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../../src/log/logger.ts';
import type { Store } from '../../store/store.ts';
import { Backoff, sleep } from './backoff.ts';
import { flatString, KeyIndex } from './key-index.ts';
import { isGone, KubeApiError, lines, type KubeClient } from './kube-client.ts';
import type { ListMetadata } from './list-splitter.ts';
import { objectKey, type KubeObject, type ObjectEvent, type ObjectEventSink, type ObjectEventType, type Projection, type ResourceType } from './object-event.ts';
import { withIdentity } from './projection.ts';
import { collectionPath, resourceName } from './resource-path.ts';
import { CoalescingWorkQueue } from './work-queue.ts';

type Obj = Record<string, unknown>;

export interface ReflectorOptions {
  client: KubeClient;
  resource: ResourceType;
  sink: ObjectEventSink;
  log: Logger;
  /** Watch one namespace only (namespaced kinds). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** What the rules read; applied before an object is queued, so no full object outlives its page or line. */
  projection?: Projection;
  /** Where the low watermark is persisted (the collector's store). Without it a restart relists. */
  watermarks?: Pick<Store, 'getWatermark' | 'setWatermark'>;
  /** Defaults to `kube/<plural.group>` plus namespace and selectors. */
  watermarkKey?: string;
  /** LIST page size (`limit`). */
  pageSize?: number;
  /** Try the streaming list (`sendInitialEvents`) first; falls back to paginated LIST when the server refuses it. */
  streamingList?: boolean;
  /** Each watch asks the server to end it after a random time in this range (seconds). */
  watchTimeoutSeconds?: { min: number; max: number };
  /** The server's bookmark interval; a watch silent for longer than 2.5× this is presumed dead and reopened. */
  bookmarkIntervalMs?: number;
  inactivityTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** A watch that ends within this time without delivering anything "ended at once" and is retried with backoff. */
  immediateEndMs?: number;
  workers?: number;
  watermarkFlushMs?: number;
  /** A LIST page whose connection stays silent this long fails and is retried (default 60 s). */
  requestTimeoutMs?: number;
}

export interface ReflectorStats {
  lists: number;
  streamingLists: number;
  listPages: number;
  continueExpired: number;
  watches: number;
  relists: number;
  gone: number;
  events: number;
  duplicates: number;
  bookmarks: number;
  syncDeletes: number;
  malformedLines: number;
  immediateEnds: number;
  inactivityTimeouts: number;
  errors: number;
}

/** The state of a list being received: which keys it contained. */
interface ListPhase {
  seen: Set<string>;
}

const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

function meta(obj: KubeObject): Obj | undefined {
  const m = obj.metadata;
  return typeof m === 'object' && m !== null ? (m as Obj) : undefined;
}

/**
 * Follows one resource type without keeping its objects: list (streaming or paginated), then watch, forever,
 * projecting each object before it is queued. Remembers only a slim key index (key → uid, resourceVersion) to
 * notice deletions that happened while it was not watching, and a low watermark to resume from after a restart.
 */
export class Reflector {
  readonly stats: ReflectorStats = {
    lists: 0, streamingLists: 0, listPages: 0, continueExpired: 0, watches: 0, relists: 0, gone: 0, events: 0,
    duplicates: 0, bookmarks: 0, syncDeletes: 0, malformedLines: 0, immediateEnds: 0, inactivityTimeouts: 0, errors: 0,
  };
  readonly queue: CoalescingWorkQueue;
  readonly index = new KeyIndex();
  readonly watermarkKey: string;
  readonly #o: ReflectorOptions;
  readonly #log: Logger;
  readonly #project: Projection;
  readonly #path: string;
  readonly #abort = new AbortController();
  readonly #backoff: Backoff;
  #rv: string | undefined;
  #streaming: boolean;
  #running: Promise<void> | undefined;
  #syncedResolve!: () => void;
  #syncedReject!: (e: unknown) => void;
  readonly synced: Promise<void>;
  #isSynced = false;
  #flushTimer: NodeJS.Timeout | undefined;
  #savedWatermark: string | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(opts: ReflectorOptions) {
    this.#o = opts;
    this.#log = opts.log.child({ component: 'reflector', resource: resourceName(opts.resource) });
    this.#project = withIdentity(opts.projection);
    this.#path = collectionPath(opts.resource, opts.namespace);
    this.#streaming = opts.streamingList ?? true;
    this.#backoff = new Backoff(opts.backoff?.initialMs ?? 500, opts.backoff?.maxMs ?? 30_000);
    this.queue = new CoalescingWorkQueue({ sink: opts.sink, log: this.#log, workers: opts.workers });
    const scope = [opts.namespace && `ns=${opts.namespace}`, opts.labelSelector && `l=${opts.labelSelector}`, opts.fieldSelector && `f=${opts.fieldSelector}`].filter(Boolean).join(',');
    this.watermarkKey = opts.watermarkKey ?? `kube/${resourceName(opts.resource)}${scope ? `?${scope}` : ''}`;
    this.synced = new Promise((resolve, reject) => {
      this.#syncedResolve = resolve;
      this.#syncedReject = reject;
    });
    this.synced.catch(() => undefined);
  }

  /** The resourceVersion the next watch starts from (the newest seen in the stream). */
  get resourceVersion(): string | undefined {
    return this.#rv;
  }

  /** The low watermark: every event at or before it has been handled by the sink. */
  get watermark(): string | undefined {
    return this.queue.watermark.value;
  }

  /** Starts following; resolves once the initial state is listed (or the index rebuilt on resume). */
  async start(): Promise<void> {
    this.#running ??= this.#run().catch((e: unknown) => {
      this.#log.error({ err: e }, 'reflector stopped on an unexpected error');
      this.#syncedReject(e);
    });
    const flushMs = this.#o.watermarkFlushMs ?? 1000;
    if (this.#o.watermarks && !this.#flushTimer) {
      this.#flushTimer = setInterval(() => void this.flushWatermark(), flushMs);
      this.#flushTimer.unref();
    }
    await this.synced;
  }

  /** Stops watching, lets events being handled finish, persists the watermark. Waiting events are left for the next run. */
  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#flushTimer) clearInterval(this.#flushTimer);
    await this.#running;
    await this.queue.stop();
    await this.flushWatermark();
  }

  /** Persists the watermark if it moved. */
  flushWatermark(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const store = this.#o.watermarks;
      const v = this.queue.watermark.value;
      if (!store || v === undefined || v === this.#savedWatermark) return;
      try {
        await store.setWatermark(this.watermarkKey, v);
        this.#savedWatermark = v;
      } catch (e) {
        this.#log.warn({ err: e }, 'could not persist the watermark; will retry');
      }
    });
    return this.#flushing;
  }

  #markSynced(): void {
    if (this.#isSynced) return;
    this.#isSynced = true;
    this.#syncedResolve();
  }

  get #stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  async #run(): Promise<void> {
    await this.#resume();
    while (!this.#stopped) {
      try {
        if (this.#rv === undefined) {
          if (!this.#streaming || !(await this.#streamingList())) await this.#paginatedList();
          if (this.#stopped) break;
          continue;
        }
        this.#markSynced();
        await this.#watch();
      } catch (e) {
        if (this.#stopped) break;
        if (isGone(e)) {
          this.stats.gone++;
          this.stats.relists++;
          this.#log.info({ resourceVersion: this.#rv, reason: (e as KubeApiError).message }, 'resourceVersion too old (410); relisting');
          this.#rv = undefined;
          continue;
        }
        this.stats.errors++;
        const wait = this.#backoff.next();
        this.#log.warn({ err: e, retryInMs: Math.round(wait) }, 'list/watch failed; retrying');
        await sleep(wait, this.#abort.signal);
      }
    }
  }

  /** On restart: rebuild the key index at the persisted watermark (emitting nothing) and watch on from it. */
  async #resume(): Promise<void> {
    const store = this.#o.watermarks;
    if (!store) return;
    let wm: string | undefined;
    try {
      wm = await store.getWatermark(this.watermarkKey);
    } catch (e) {
      this.#log.warn({ err: e }, 'could not read the watermark; listing from scratch');
      return;
    }
    if (wm === undefined) return;
    this.#savedWatermark = wm;
    while (!this.#stopped) {
      try {
        this.index.clear();
        await this.#list({ resourceVersion: wm, resourceVersionMatch: 'Exact' }, (obj) => {
          const m = meta(obj);
          if (m) this.index.set(flatString(objectKey(m.namespace as string | undefined, String(m.name))), String(m.uid), String(m.resourceVersion));
        });
        this.queue.checkpoint(wm);
        this.#rv = wm;
        this.#log.info({ resourceVersion: wm, objects: this.index.size }, 'resuming from the persisted watermark');
        return;
      } catch (e) {
        if (this.#stopped) return;
        if (isGone(e) || (e instanceof KubeApiError && (e.status === 422 || e.status === 400))) {
          this.#log.info({ resourceVersion: wm, reason: (e as Error).message }, 'persisted watermark no longer readable; relisting');
          this.index.clear();
          this.stats.relists++;
          return;
        }
        this.stats.errors++;
        const wait = this.#backoff.next();
        this.#log.warn({ err: e, retryInMs: Math.round(wait) }, 'could not rebuild the index at the watermark; retrying');
        await sleep(wait, this.#abort.signal);
      }
    }
  }

  #selectors(): Record<string, string | undefined> {
    return { labelSelector: this.#o.labelSelector, fieldSelector: this.#o.fieldSelector };
  }

  /** Pages through a LIST; an expired continue token restarts it from the first page. Returns the list's RV. */
  async #list(extra: Record<string, string>, onItem: (obj: KubeObject) => void, onRestart?: () => void): Promise<string> {
    let cont: string | undefined;
    for (;;) {
      let meta: ListMetadata;
      try {
        const query = { limit: String(this.#o.pageSize ?? 500), continue: cont, ...this.#selectors(), ...(cont ? {} : extra) };
        meta = await this.#o.client.list(this.#path, { query, signal: this.#abort.signal, timeoutMs: this.#o.requestTimeoutMs ?? 60_000 }, onItem);
      } catch (e) {
        if (cont && isGone(e)) {
          this.stats.continueExpired++;
          this.#log.info('continue token expired (410); restarting the list');
          cont = undefined;
          onRestart?.();
          continue;
        }
        throw e;
      }
      this.stats.listPages++;
      cont = meta.continue || undefined;
      if (!cont) return meta.resourceVersion ?? '';
    }
  }

  async #paginatedList(): Promise<void> {
    this.stats.lists++;
    const phase: ListPhase = { seen: new Set() };
    const rv = await this.#list({}, (obj) => this.#listItem(obj, phase), () => phase.seen.clear());
    this.#finishList(rv, phase);
  }

  /** Streaming list; false when the server does not support it (then never tried again). */
  async #streamingList(): Promise<boolean> {
    const query = { watch: '1', sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: 'true', timeoutSeconds: String(this.#timeoutSeconds()), ...this.#selectors() };
    let res: IncomingMessage;
    try {
      res = await this.#o.client.stream(this.#path, { query, signal: this.#abort.signal });
    } catch (e) {
      if (e instanceof KubeApiError && [400, 403, 422].includes(e.status) && !isGone(e)) {
        this.#streaming = false;
        this.#log.info({ status: e.status, reason: e.message }, 'server refuses streaming lists; using paginated LIST');
        return false;
      }
      throw e;
    }
    this.stats.lists++;
    this.stats.streamingLists++;
    this.stats.watches++;
    const phase: ListPhase = { seen: new Set() };
    const state = { phase: phase as ListPhase | undefined };
    await this.#consume(res, state);
    if (state.phase) {
      // The stream ended before the initial-events-end bookmark: the list is incomplete, so it does not count.
      this.#rv = undefined;
      throw new Error('streaming list ended before its initial-events-end bookmark');
    }
    return true;
  }

  #timeoutSeconds(): number {
    const { min, max } = this.#o.watchTimeoutSeconds ?? { min: 300, max: 600 };
    return Math.floor(min + Math.random() * (max - min + 1));
  }

  async #watch(): Promise<void> {
    const query = { watch: '1', allowWatchBookmarks: 'true', resourceVersion: this.#rv, timeoutSeconds: String(this.#timeoutSeconds()), ...this.#selectors() };
    this.stats.watches++;
    const started = Date.now();
    const res = await this.#o.client.stream(this.#path, { query, signal: this.#abort.signal });
    const received = await this.#consume(res, { phase: undefined });
    if (received === 0 && Date.now() - started < (this.#o.immediateEndMs ?? 1000) && !this.#stopped) {
      this.stats.immediateEnds++;
      const wait = this.#backoff.next();
      this.#log.warn({ retryInMs: Math.round(wait) }, 'watch ended at once; backing off');
      await sleep(wait, this.#abort.signal);
    }
  }

  /**
   * Reads a watch stream to its end; returns how many lines it delivered. A silent stream is cut by the watchdog
   * (a normal end). A dropped connection throws (retry with backoff); an ERROR 410 throws Gone (relist).
   */
  async #consume(res: IncomingMessage, state: { phase: ListPhase | undefined }): Promise<number> {
    const inactivity = this.#o.inactivityTimeoutMs ?? 2.5 * (this.#o.bookmarkIntervalMs ?? 60_000);
    let idle = false;
    let received = 0;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        idle = true;
        this.stats.inactivityTimeouts++;
        this.#log.warn({ inactivityMs: inactivity }, 'watch silent for too long; reopening');
        res.destroy();
      }, inactivity);
    };
    arm();
    try {
      for await (const line of lines(res)) {
        arm();
        received++;
        if (received === 1) this.#backoff.reset();
        this.#line(line, state);
      }
    } catch (e) {
      if (!(idle || this.#stopped) || isGone(e)) throw e;
    } finally {
      clearTimeout(timer);
      res.destroy();
    }
    return received;
  }

  #malformed(line: string, why: string): void {
    this.stats.malformedLines++;
    this.#log.warn({ line: line.length > 200 ? `${line.slice(0, 200)}…` : line, why }, 'malformed watch line skipped');
  }

  #line(line: string, state: { phase: ListPhase | undefined }): void {
    let ev: { type?: unknown; object?: unknown };
    try {
      ev = JSON.parse(line) as { type?: unknown; object?: unknown };
    } catch {
      this.#malformed(line, 'not JSON');
      return;
    }
    const obj = ev?.object;
    if (typeof ev?.type !== 'string' || typeof obj !== 'object' || obj === null) {
      this.#malformed(line, 'no type or object');
      return;
    }
    const o = obj as Obj;
    if (ev.type === 'ERROR') {
      const code = typeof o.code === 'number' ? o.code : 500;
      throw new KubeApiError(code, o.reason as string | undefined, `watch ERROR event: ${typeof o.message === 'string' ? o.message : ''}`, o);
    }
    const m = meta(o);
    const rv = m?.resourceVersion;
    if (typeof rv !== 'string' || !rv) {
      this.#malformed(line, 'no metadata.resourceVersion');
      return;
    }
    if (ev.type === 'BOOKMARK') {
      this.stats.bookmarks++;
      this.#rv = rv;
      const annotations = (m.annotations ?? {}) as Record<string, string>;
      if (state.phase) {
        if (annotations[INITIAL_EVENTS_END] === 'true') {
          this.#finishList(rv, state.phase);
          state.phase = undefined;
          this.#markSynced();
        }
      } else this.queue.checkpoint(rv);
      return;
    }
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') {
      this.#malformed(line, `unknown event type ${ev.type}`);
      return;
    }
    if (typeof m.name !== 'string' || typeof m.uid !== 'string') {
      this.#malformed(line, 'no metadata.name or metadata.uid');
      return;
    }
    this.stats.events++;
    if (state.phase) this.#listItem(o, state.phase);
    else this.#watchEvent(ev.type, o, m);
  }

  #event(type: ObjectEventType, key: string, uid: string, rv: string, object: KubeObject): ObjectEvent {
    return { type, resource: this.#o.resource, key, uid, resourceVersion: rv, object };
  }

  #watchEvent(type: ObjectEventType, obj: KubeObject, m: Obj): void {
    const key = flatString(objectKey(m.namespace as string | undefined, m.name as string));
    const uid = m.uid as string;
    const rv = m.resourceVersion as string;
    this.#rv = rv;
    const prior = this.index.get(key);
    if (type === 'DELETED') {
      if (!prior || prior.uid !== uid) {
        // Already gone from the index (a repeat after a reconnect): nothing left to tell.
        this.stats.duplicates++;
        this.queue.checkpoint(rv);
        return;
      }
      this.index.delete(key);
      this.queue.add(this.#event('DELETED', key, uid, rv, this.#project(obj)), rv);
      return;
    }
    if (prior && prior.uid === uid && prior.resourceVersion === rv) {
      this.stats.duplicates++;
      this.queue.checkpoint(rv);
      return;
    }
    if (prior && prior.uid !== uid) this.#emitGone(key, prior.uid, prior.resourceVersion);
    this.index.set(key, uid, rv);
    this.queue.add(this.#event(prior && prior.uid === uid ? 'MODIFIED' : type, key, uid, rv, this.#project(obj)), rv);
  }

  #listItem(obj: KubeObject, phase: ListPhase): void {
    const m = meta(obj);
    if (!m || typeof m.name !== 'string' || typeof m.uid !== 'string' || typeof m.resourceVersion !== 'string') return;
    const key = flatString(objectKey(m.namespace as string | undefined, m.name));
    phase.seen.add(key);
    const prior = this.index.get(key);
    if (prior && prior.uid === m.uid && prior.resourceVersion === m.resourceVersion) return;
    if (prior && prior.uid !== m.uid) this.#emitGone(key, prior.uid, prior.resourceVersion);
    this.index.set(key, m.uid, m.resourceVersion);
    this.queue.add(this.#event(prior && prior.uid === m.uid ? 'MODIFIED' : 'ADDED', key, m.uid, m.resourceVersion, this.#project(obj)), undefined);
  }

  /** A DELETED for an object the index knows but the server no longer has (deleted while we were not watching). */
  #emitGone(key: string, uid: string, rv: string): void {
    const slash = key.indexOf('/');
    const metadata: Obj = slash >= 0 ? { namespace: key.slice(0, slash), name: key.slice(slash + 1), uid, resourceVersion: rv } : { name: key, uid, resourceVersion: rv };
    this.stats.syncDeletes++;
    this.queue.add(this.#event('DELETED', key, uid, rv, { metadata }), undefined);
  }

  #finishList(rv: string, phase: ListPhase): void {
    const gone: string[] = [];
    for (const key of this.index.keys()) if (!phase.seen.has(key)) gone.push(key);
    for (const key of gone) {
      const e = this.index.get(key)!;
      this.index.delete(key);
      this.#emitGone(key, e.uid, e.resourceVersion);
    }
    phase.seen.clear();
    if (rv) {
      this.queue.checkpoint(rv);
      this.#rv = rv;
    }
    this.#log.info({ resourceVersion: rv, objects: this.index.size, deletedWhileAway: gone.length }, 'listed');
  }
}
