import type { Violation } from '../../../src/errors.ts';
import type { Heartbeat } from '../../../src/protocol/heartbeat.ts';
import type { AgentIdentity } from '../../auth/agent-identity.ts';
import { RecordConflictError, timeSortableId, type StoredRecord } from '../../store/record-store.ts';
import type { Store } from '../../store/store.ts';
import { KINDS, type ControlState, type StoredDocument } from '../control-state.ts';
import { diffJson, type DiffEntry } from './config-diff.ts';
import type { ConfigDocument } from './config-document.ts';
import { parseScope, scopeCovers, scopeId as canonicalScopeId, type InstanceKey, type Scope } from './config-scope.ts';
import { computeEffective, releaseOverride, servedBody, type EffectiveConfig } from './effective-config.ts';

/** One entry of a scope's history (record kind `config-revision`, time-sortable id). */
export interface ConfigRevision {
  id: string;
  scope: string;
  author: string;
  at: number;
  action: 'set' | 'delete' | 'rollback' | 'revert';
  /** The revision a rollback/revert restored from. */
  of?: string;
  message?: string;
  before: ConfigDocument | null;
  after: ConfigDocument | null;
  diff: DiffEntry[];
}

/** How a proposed change moves one instance's effective config. */
export interface AffectedInstance {
  podUid: string;
  namespace: string;
  app: string;
  tenant: string;
  revisionBefore: string;
  revisionAfter: string;
  diff: DiffEntry[];
  violations?: readonly Violation[];
}

/** A write that cannot be done: 400 (validation), 404 (unknown), 409 (conflict). */
export class ConfigWriteError extends Error {
  readonly status: 400 | 404 | 409;
  readonly violations: readonly Violation[];
  constructor(status: 400 | 404 | 409, message: string, violations: readonly Violation[] = []) {
    super(message);
    this.name = 'ConfigWriteError';
    this.status = status;
    this.violations = violations;
  }
}

const EMPTY_KEY: InstanceKey = { podUid: '', namespace: '', app: '', tenant: '' };
const keyString = (k: InstanceKey) => `${k.tenant}|${k.namespace}|${k.app}|${k.podUid}`;

/**
 * The layered config center: documents per scope, merged into each instance's effective AgentConfig; every write
 * validated against the effective configs it changes, recorded as a revision, and reversible.
 */
export class ConfigCenter {
  readonly #state: ControlState;
  readonly #store: Store;
  /** Pod uid → what the merge needs, learnt from heartbeats (and the store on a miss). */
  readonly #directory = new Map<string, InstanceKey>();
  #cacheGeneration = -1;
  /** Per instance, pointing into #chains: the instances of an app share one computed config. */
  readonly #cache = new Map<string, EffectiveConfig>();
  /** Per distinct chain (tenant, namespace, app, own document, release from pin or rollout). */
  readonly #chains = new Map<string, EffectiveConfig>();
  #served = new WeakMap<EffectiveConfig, { base: string; body: string; etag: string }>();

  constructor(state: ControlState, store: Store) {
    this.#state = state;
    this.#store = store;
  }

  get state(): ControlState {
    return this.#state;
  }

  /** The effective config of an instance, cached until the control state changes. */
  effectiveFor(k: InstanceKey): EffectiveConfig {
    if (this.#cacheGeneration !== this.#state.generation || this.#cache.size > 200_000) {
      this.#cache.clear();
      this.#chains.clear();
      this.#served = new WeakMap();
      this.#cacheGeneration = this.#state.generation;
    }
    const ks = keyString(k);
    let e = this.#cache.get(ks);
    if (!e) {
      // A merge costs ~0.1 ms; after a change, 10,000 instances of a few apps need a few merges, not 10,000.
      const o = releaseOverride(this.#state, k);
      const own = this.#state.documents.has(`instance/${k.podUid}`) ? k.podUid : '';
      const chain = `${k.tenant}|${k.namespace}|${k.app}|${own}|${o ? `${o.source}:${o.version}` : ''}`;
      e = this.#chains.get(chain);
      if (!e) this.#chains.set(chain, (e = computeEffective(this.#state, k)));
      this.#cache.set(ks, e);
    }
    return e;
  }

  /** The body and ETag served to an agent reaching the collector at `base`. */
  served(k: InstanceKey, base: string): { effective: EffectiveConfig; body: string; etag: string } {
    const effective = this.effectiveFor(k);
    let s = this.#served.get(effective);
    if (!s || s.base !== base) this.#served.set(effective, (s = { base, ...servedBody(effective, base) }));
    return { effective, body: s.body, etag: s.etag };
  }

  /**
   * The heartbeat hint: the revision of the effective config of the instance the heartbeats are about. Sync and
   * cached, it costs a map lookup per heartbeat request.
   */
  configRevisionFor = (identity: AgentIdentity, heartbeats: readonly Heartbeat[]): string => {
    const i = heartbeats[heartbeats.length - 1]!.instance;
    const k = this.remember({ podUid: i.podUid.toLowerCase(), namespace: i.namespace, app: i.app, tenant: i.tenant });
    // The revision of what `GET /v1/agent/config` serves this identity: an identity not bound to a pod gets its
    // app's config there, so announcing the instance's own revision would make it fetch on every beat in vain.
    return this.effectiveFor(identity.podUid ? k : unboundKey(identity)).revision;
  };

  /** Records what a heartbeat says about an instance; returns the (shared) key. */
  remember(k: InstanceKey): InstanceKey {
    const known = this.#directory.get(k.podUid);
    if (known && known.namespace === k.namespace && known.app === k.app && known.tenant === k.tenant) return known;
    if (this.#directory.size >= 500_000) this.#directory.clear();
    this.#directory.set(k.podUid, k);
    return k;
  }

  /**
   * Which instance an agent request is about: the pod uid the token is bound to, looked up among instances seen;
   * an identity bound only to a namespace/app (a static token without a pod uid) gets the config of that app.
   */
  async resolveAgent(identity: AgentIdentity): Promise<InstanceKey> {
    if (identity.podUid) {
      const uid = identity.podUid.toLowerCase();
      const known = this.#directory.get(uid);
      if (known) return known;
      const inst = await this.#store.getInstance(uid);
      if (inst) return this.remember({ podUid: uid, namespace: inst.namespace, app: inst.app, tenant: inst.tenant });
      return { ...EMPTY_KEY, podUid: uid, namespace: identity.namespace ?? '', app: identity.app ?? '' };
    }
    return unboundKey(identity);
  }

  /** A stored instance's key, or undefined when the store does not know the pod. */
  async instance(podUid: string): Promise<InstanceKey | undefined> {
    const i = await this.#store.getInstance(podUid);
    return i ? this.remember({ podUid, namespace: i.namespace, app: i.app, tenant: i.tenant }) : undefined;
  }

  getDocument(scope: string): StoredRecord<StoredDocument> | undefined {
    const p = parseScope(scope);
    return p.ok ? this.#state.docs.get(canonicalScopeId(p.scope))?.stored : undefined;
  }

  listDocuments(): StoredRecord<StoredDocument>[] {
    return [...this.#state.docs.values()].map((d) => d.stored).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Every instance in the store (paged), with the uids' keys remembered. */
  async knownInstances(filter: { tenant?: string; namespace?: string; app?: string } = {}): Promise<InstanceKey[]> {
    const out: InstanceKey[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#store.listInstances({ ...filter, limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const i of page.items) {
        if (i.status === 'retired') continue;
        out.push(this.remember({ podUid: i.podUid.toLowerCase(), namespace: i.namespace, app: i.app, tenant: i.tenant }));
      }
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  /** Which known instances a change at `scope` would touch, and how their effective configs would differ. */
  async dryRun(rawScope: string, document: ConfigDocument | null, limit = 1000): Promise<{ scope: string; affected: AffectedInstance[]; affectedCount: number; unchanged: number; violations: Violation[] }> {
    const scope = this.#scope(rawScope);
    const scopeId = canonicalScopeId(scope);
    this.#checkReleaseExists(document);
    const overrides = new Map([[scopeId, document]]);
    const affected: AffectedInstance[] = [];
    let affectedCount = 0;
    let unchanged = 0;
    for (const k of await this.knownInstances()) {
      if (!scopeCovers(scope, k)) continue;
      const before = this.effectiveFor(k);
      const after = computeEffective(this.#state, k, overrides);
      if (after.revision === before.revision) {
        unchanged++;
        continue;
      }
      // Every affected instance is counted; the first `limit` are listed with their diff.
      if (++affectedCount > limit) continue;
      const a: AffectedInstance = {
        podUid: k.podUid, namespace: k.namespace, app: k.app, tenant: k.tenant, revisionBefore: before.revision, revisionAfter: after.revision,
        diff: diffJson({ ...before.config, revision: undefined }, { ...after.config, revision: undefined }),
      };
      if (after.violations) a.violations = after.violations;
      affected.push(a);
    }
    return { scope: scopeId, affected, affectedCount, unchanged, violations: await this.#validate(scope, scopeId, document) };
  }

  /** Creates, replaces (document) or deletes (null) the document at a scope; validated, recorded as a revision. */
  async write(rawScope: string, document: ConfigDocument | null, author: string, opts: { expectedVersion?: number; message?: string; action?: ConfigRevision['action']; of?: string } = {}): Promise<ConfigRevision> {
    const scope = this.#scope(rawScope);
    // One spelling per scope (an instance uid in lower case), or a document would sit under an id no chain names.
    const scopeId = canonicalScopeId(scope);
    this.#checkReleaseExists(document);
    const violations = await this.#validate(scope, scopeId, document);
    if (violations.length) throw new ConfigWriteError(400, `invalid config document for ${scopeId}`, violations);
    await this.#state.refreshIfChanged();
    const current = this.#state.docs.get(scopeId)?.stored;
    if (opts.expectedVersion !== undefined && (current?.version ?? 0) !== opts.expectedVersion) {
      throw new ConfigWriteError(409, `the document at ${scopeId} is at version ${current?.version ?? 0}, not ${opts.expectedVersion}; re-read it and retry`);
    }
    if (document === null && !current) throw new ConfigWriteError(404, `no config document at ${scopeId}`);
    const before = current?.body.document ?? null;
    const rev: ConfigRevision = {
      id: timeSortableId(), scope: scopeId, author, at: Date.now(), action: opts.action ?? (document ? 'set' : 'delete'),
      ...(opts.of ? { of: opts.of } : {}), ...(opts.message ? { message: opts.message } : {}),
      before, after: document, diff: diffJson(before ?? {}, document ?? {}),
    };
    // The revision is written first: a document never exists without the revision that explains it. A lost race
    // on the document leaves no trace of the loser.
    await this.#store.putRecord(KINDS.revision, rev.id, rev, { expectedVersion: 0 });
    try {
      if (document) await this.#store.putRecord<StoredDocument>(KINDS.document, scopeId, { scope: scopeId, document, revision: rev.id }, { expectedVersion: current?.version ?? 0 });
      else await this.#deleteDocument(scopeId, current!);
    } catch (err) {
      await this.#store.deleteRecord(KINDS.revision, rev.id);
      if (err instanceof RecordConflictError) throw new ConfigWriteError(409, `the document at ${scopeId} changed concurrently; re-read it and retry`);
      throw err;
    }
    await this.#state.changed();
    return rev;
  }

  async #deleteDocument(scopeId: string, current: StoredRecord<StoredDocument>): Promise<void> {
    const still = await this.#store.getRecord(KINDS.document, scopeId);
    if (!still || still.version !== current.version) throw new RecordConflictError(KINDS.document, scopeId, current.version);
    await this.#store.deleteRecord(KINDS.document, scopeId);
  }

  /** Newest first; `scope` filters, `before` is the exclusive revision-id cursor of the previous page. */
  async history(opts: { scope?: string; before?: string; limit?: number } = {}): Promise<ConfigRevision[]> {
    const limit = Math.min(1000, Math.max(1, opts.limit ?? 50));
    const out: ConfigRevision[] = [];
    let after = opts.before;
    for (;;) {
      const page = await this.#store.listRecords<ConfigRevision>(KINDS.revision, { reverse: true, limit: 500, ...(after ? { after } : {}) });
      for (const r of page) {
        if (opts.scope === undefined || r.body.scope === opts.scope) out.push(r.body);
        if (out.length >= limit) return out;
      }
      if (page.length < 500) return out;
      after = page[page.length - 1]!.id;
    }
  }

  async revision(id: string): Promise<ConfigRevision | undefined> {
    return (await this.#store.getRecord<ConfigRevision>(KINDS.revision, id))?.body;
  }

  /**
   * `rollback`: the scope's document becomes what it was right after revision `id`; `revert`: what it was right
   * before it (undoing that change). Either is a new revision.
   */
  async restore(id: string, how: 'rollback' | 'revert', author: string, message?: string): Promise<ConfigRevision> {
    const rev = await this.revision(id);
    if (!rev) throw new ConfigWriteError(404, `no config revision ${id}`);
    const doc = how === 'rollback' ? rev.after : rev.before;
    const current = this.#state.docs.get(rev.scope)?.stored;
    if (doc === null && !current) throw new ConfigWriteError(409, `${rev.scope} already has no document, as at that point`);
    return this.write(rev.scope, doc, author, { action: how, of: id, ...(message ? { message } : {}) });
  }

  #scope(id: string): Scope {
    const p = parseScope(id);
    if (!p.ok) throw new ConfigWriteError(400, p.error, [{ path: 'scope', message: p.error }]);
    return p.scope;
  }

  #checkReleaseExists(document: ConfigDocument | null): void {
    const v = document?.release?.version;
    if (v !== undefined && !this.#state.releases.has(v)) {
      throw new ConfigWriteError(400, `release ${v} does not exist`, [{ path: 'document.release.version', message: `no stored release ${v} (publish it first; see GET /api/v1/releases)` }]);
    }
  }

  /**
   * The effective configs a change would produce, validated: the scope's own chain, plus one instance of every
   * distinct chain among the known instances it covers (instances of one app share a chain unless one of them has
   * its own document).
   */
  async #validate(scope: Scope, scopeId: string, document: ConfigDocument | null): Promise<Violation[]> {
    const overrides = new Map([[scopeId, document]]);
    const keys = new Map<string, InstanceKey>();
    const own = ownKey(scope, this.#directory);
    keys.set(keyString(own), own);
    for (const k of await this.knownInstances()) {
      if (!scopeCovers(scope, k)) continue;
      const chain = this.#state.docs.has(`instance/${k.podUid}`) ? keyString(k) : `${k.tenant}|${k.namespace}|${k.app}|`;
      if (!keys.has(chain)) keys.set(chain, k);
    }
    for (const k of keys.values()) {
      const e = computeEffective(this.#state, k, overrides);
      if (e.violations) {
        const where = k.podUid ? `instance ${k.podUid} (${k.namespace}/${k.app})` : scopeId;
        return e.violations.map((v) => ({ path: v.path ? `document.${v.path}` : 'document', message: `${v.message} (in the effective config of ${where})` }));
      }
    }
    return [];
  }
}

/** The key of an identity bound to no pod: its namespace and app, as far as the token says. */
function unboundKey(identity: AgentIdentity): InstanceKey {
  return { ...EMPTY_KEY, namespace: identity.namespace ?? '', app: identity.app ?? '' };
}

/** A key whose chain holds exactly the scope and its broader levels. */
function ownKey(scope: Scope, directory: ReadonlyMap<string, InstanceKey>): InstanceKey {
  switch (scope.level) {
    case 'global': return EMPTY_KEY;
    case 'tenant': return { ...EMPTY_KEY, tenant: scope.tenant };
    case 'namespace': return { ...EMPTY_KEY, namespace: scope.namespace };
    case 'app': return { ...EMPTY_KEY, namespace: scope.namespace, app: scope.app };
    case 'instance': return directory.get(scope.podUid) ?? { ...EMPTY_KEY, podUid: scope.podUid };
  }
}

