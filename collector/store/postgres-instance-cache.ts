import type { InstanceSnapshot, PriorInstance } from './ingest-plan.ts';
import type { CheckState } from './store.ts';

/** What a replica remembers of one instance after a batch it committed: the planning inputs and the row version. */
interface Cached {
  version: number;
  instance: PriorInstance;
  checks: Map<string, CheckState>;
}

/**
 * A replica's copy of the instance state its own batches wrote, so a batch can be planned without reading the rows
 * first. It is a hint, never the truth: the write statement only applies where the row's version is still the one
 * cached (another replica, the diagnosis or a prune may have moved it), and the store replans from the database
 * otherwise. Also serialises this replica's batches per instance, so two of its own batches never race for one row.
 */
export class PostgresInstanceCache {
  readonly #max: number;
  /** Keyed by lower-case pod uid; Map order is recency of the last write (re-inserted on each), so eviction is LRU. */
  readonly #rows = new Map<string, Cached>();
  readonly #busy = new Map<string, Promise<void>>();

  constructor(maxInstances = 100_000) {
    this.#max = maxInstances;
  }

  get size(): number {
    return this.#rows.size;
  }

  /** A private copy for planning (planIngest advances it in place), or undefined when the instance is not cached. */
  snapshot(podUid: string): { version: number; snap: InstanceSnapshot } | undefined {
    const c = this.#rows.get(podUid);
    return c && { version: c.version, snap: { instance: c.instance, checks: new Map(c.checks) } };
  }

  /** Records the state a committed batch left; an older version than the one held (a reordered reply) is ignored. */
  set(podUid: string, version: number, snap: InstanceSnapshot): void {
    if (!snap.instance) return;
    const held = this.#rows.get(podUid);
    if (held && held.version > version) return;
    const { firstSeen, lastSeen, lastSentAt, status, statusSince } = snap.instance;
    this.#rows.delete(podUid);
    this.#rows.set(podUid, { version, instance: { firstSeen, lastSeen, lastSentAt, status, statusSince }, checks: snap.checks });
    if (this.#rows.size > this.#max) this.#rows.delete(this.#rows.keys().next().value!);
  }

  forget(podUid: string): void {
    this.#rows.delete(podUid);
  }

  /** Drops instances not heard from since `cutoff` (what a prune deletes), so gone pods do not hold memory. */
  forgetSeenBefore(cutoff: number): void {
    for (const [u, c] of this.#rows) if (c.instance.lastSeen < cutoff) this.#rows.delete(u);
  }

  /**
   * Runs `fn` once no other batch of this replica holds any of `podUids`, holding them until it settles. Waiting
   * here costs less than the conflict it avoids: the second batch would fail its version check and be replanned.
   */
  async exclusive<T>(podUids: readonly string[], fn: () => Promise<T>): Promise<T> {
    for (;;) {
      const held = new Set<Promise<void>>();
      for (const u of podUids) {
        const p = this.#busy.get(u);
        if (p) held.add(p);
      }
      if (held.size === 0) break;
      await Promise.all(held);
    }
    const run = fn();
    const done = run.then(() => undefined, () => undefined);
    for (const u of podUids) this.#busy.set(u, done);
    void done.then(() => {
      for (const u of podUids) if (this.#busy.get(u) === done) this.#busy.delete(u);
    });
    return run;
  }
}
