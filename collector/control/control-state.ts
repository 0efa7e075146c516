import type { Logger } from '../../src/log/logger.ts';
import type { ReleaseManifest } from '../../src/protocol/release.ts';
import { timeSortableId, type RecordStore, type StoredRecord } from '../store/record-store.ts';
import type { ConfigDocument } from './config-center/config-document.ts';
import { parseScope, type Scope } from './config-center/config-scope.ts';
import type { Rollout } from './rollouts/rollout-spec.ts';

/** Record kinds of the config center, releases and rollouts. */
export const KINDS = {
  document: 'config-document',
  revision: 'config-revision',
  release: 'release',
  pin: 'release-pin',
  rollout: 'rollout',
  head: 'control-head',
} as const;

/** A config document as stored under its scope id. */
export interface StoredDocument {
  scope: string;
  document: ConfigDocument;
  /** The revision that wrote it. */
  revision: string;
}

/** The global pin: every instance runs this version, whatever documents and rollouts say. */
export interface ReleasePin {
  version: string;
  by: string;
  at: number;
  reason?: string;
}

/**
 * What every effective config is computed from, held in memory so the heartbeat path and `GET /v1/agent/config`
 * never touch the store. Each change bumps the `control-head` record; every replica polls that one record and
 * reloads when its version moved, so replicas on one PostgreSQL converge within the refresh interval.
 */
export class ControlState {
  readonly #store: RecordStore;
  readonly #log: Logger;
  #headVersion = -1;
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  /** Bumped on every reload; caches keyed on it. */
  generation = 0;
  docs = new Map<string, { scope: Scope; stored: StoredRecord<StoredDocument> }>();
  /** The same documents by scope id, as the merge reads them. */
  documents = new Map<string, ConfigDocument>();
  releases = new Map<string, ReleaseManifest>();
  pin: ReleasePin | undefined;
  /** Newest first. */
  rollouts: Rollout[] = [];
  readonly #listeners: (() => void)[] = [];

  constructor(store: RecordStore, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  /** Loads everything and starts polling the head every `refreshMs`. */
  async start(refreshMs: number): Promise<void> {
    await this.reload();
    this.#timer = setInterval(() => {
      this.refreshIfChanged().catch((err: unknown) => this.#log.warn({ err }, 'control state refresh failed; will retry'));
    }, refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async refreshIfChanged(): Promise<void> {
    const head = await this.#store.getRecord(KINDS.head, 'head');
    if ((head?.version ?? 0) !== this.#headVersion) await this.reload();
  }

  /** Records a change (so other replicas reload) and reloads this replica now. */
  async changed(): Promise<void> {
    await this.#store.putRecord(KINDS.head, 'head', { at: Date.now(), id: timeSortableId() });
    await this.reload();
  }

  reload(): Promise<void> {
    const run = async (): Promise<void> => {
      const head = await this.#store.getRecord(KINDS.head, 'head');
      const docs = new Map<string, { scope: Scope; stored: StoredRecord<StoredDocument> }>();
      for (const r of await listAll<StoredDocument>(this.#store, KINDS.document)) {
        const p = parseScope(r.id);
        if (p.ok) docs.set(r.id, { scope: p.scope, stored: r });
        else this.#log.warn({ scope: r.id }, 'ignoring a stored config document with an invalid scope');
      }
      const releases = new Map<string, ReleaseManifest>();
      for (const r of await listAll<ReleaseManifest>(this.#store, KINDS.release)) releases.set(r.id, r.body);
      const pin = (await this.#store.getRecord<ReleasePin>(KINDS.pin, 'global'))?.body;
      const rollouts = (await listAll<Rollout>(this.#store, KINDS.rollout)).map((r) => r.body).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
      this.docs = docs;
      this.documents = new Map([...docs].map(([id, d]) => [id, d.stored.body.document]));
      this.releases = releases;
      this.pin = pin;
      this.rollouts = rollouts;
      this.#headVersion = head?.version ?? 0;
      this.generation++;
      for (const fn of this.#listeners) fn();
    };
    // Reloads run one after another, each reading everything afresh; a failed one does not stop the next.
    const next = this.#chain.then(run, run);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}

/** Every record of a kind, paging by id. */
export async function listAll<T>(store: RecordStore, kind: string, idPrefix?: string): Promise<StoredRecord<T>[]> {
  const out: StoredRecord<T>[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.listRecords<T>(kind, { limit: 1000, ...(after !== undefined ? { after } : {}), ...(idPrefix ? { idPrefix } : {}) });
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1]!.id;
  }
}
