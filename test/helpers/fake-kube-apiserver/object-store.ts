export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change as etcd would record it: the object after (or, for DELETED, at) the change, and before it. */
export interface Change {
  rv: number;
  resource: string;
  type: WatchEventType;
  key: string;
  json: string;
  prev?: string;
}

type Obj = Record<string, unknown>;

/**
 * The fake's etcd: objects kept as JSON text (so 150,000 pods cost their text and nothing more), one global
 * revision counter shared by every resource, and a history of changes that compaction trims. A watch or an exact
 * list from a revision older than the history keeps is too old (410).
 */
export class ObjectStore {
  #rv = 1;
  /** Changes with rv ≤ compactedRev are gone; a watch from X works only if X ≥ compactedRev. */
  compactedRev = 0;
  #objects = new Map<string, Map<string, string>>();
  #history: Change[] = [];
  #listeners = new Set<(c: Change) => void>();
  /** History kept at most this long (like the watch cache's window); older changes are compacted away. */
  historyLimit: number;

  constructor(historyLimit = 200_000) {
    this.historyLimit = historyLimit;
  }

  get rv(): number {
    return this.#rv;
  }

  #table(resource: string): Map<string, string> {
    let t = this.#objects.get(resource);
    if (!t) this.#objects.set(resource, (t = new Map<string, string>()));
    return t;
  }

  getJson(resource: string, key: string): string | undefined {
    return this.#objects.get(resource)?.get(key);
  }

  get(resource: string, key: string): Obj | undefined {
    const j = this.getJson(resource, key);
    return j === undefined ? undefined : (JSON.parse(j) as Obj);
  }

  /** Stores `obj` with a new resourceVersion and records the change; returns the stored object. */
  write(resource: string, key: string, obj: Obj, type: 'ADDED' | 'MODIFIED', record = true): Obj {
    const rv = ++this.#rv;
    (obj.metadata as Obj).resourceVersion = String(rv);
    const json = JSON.stringify(obj);
    const t = this.#table(resource);
    const prev = t.get(key);
    t.set(key, json);
    if (record) this.#record({ rv, resource, type, key, json, prev });
    else this.compactedRev = rv;
    return obj;
  }

  /** Removes the object; the DELETED change carries it with a new resourceVersion, as the apiserver's does. */
  remove(resource: string, key: string): Obj | undefined {
    const t = this.#objects.get(resource);
    const prev = t?.get(key);
    if (!t || prev === undefined) return undefined;
    const obj = JSON.parse(prev) as Obj;
    const rv = ++this.#rv;
    (obj.metadata as Obj).resourceVersion = String(rv);
    t.delete(key);
    const json = JSON.stringify(obj);
    this.#record({ rv, resource, type: 'DELETED', key, json, prev });
    return obj;
  }

  #record(c: Change): void {
    this.#history.push(c);
    if (this.#history.length > this.historyLimit) {
      const drop = this.#history.length - this.historyLimit;
      this.compactedRev = this.#history[drop - 1]!.rv;
      this.#history.splice(0, drop);
    }
    for (const l of this.#listeners) l(c);
  }

  /** Forgets all history up to now, as `etcdctl compact <current revision>` does. */
  compact(): void {
    this.#history = [];
    this.compactedRev = this.#rv;
  }

  subscribe(fn: (c: Change) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Entries sorted by key (etcd's order), as they are now. */
  entries(resource: string): [string, string][] {
    return [...(this.#objects.get(resource) ?? new Map<string, string>())].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Changes of `resource` after revision `from`, or 'expired' when history no longer reaches back that far. */
  changesAfter(resource: string, from: number): Change[] | 'expired' {
    if (from < this.compactedRev) return 'expired';
    return this.#history.filter((c) => c.rv > from && c.resource === resource);
  }

  /** The resource's objects as they were at revision `at`, undoing later changes; 'expired' if compacted. */
  entriesAt(resource: string, at: number): [string, string][] | 'expired' {
    if (at < this.compactedRev) return 'expired';
    const state = new Map(this.#objects.get(resource) ?? []);
    for (let i = this.#history.length - 1; i >= 0; i--) {
      const c = this.#history[i]!;
      if (c.rv <= at) break;
      if (c.resource !== resource) continue;
      if (c.prev === undefined) state.delete(c.key);
      else state.set(c.key, c.prev);
    }
    return [...state].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}
