import type { DiagnosisEvent } from '../../src/protocol/index.ts';
import type { Store, StoredEvent } from '../store/store.ts';
import { storedEventRow } from './stored-event-row.ts';

interface OpenRow {
  id: string;
  createdAt: number;
  /** Loaded from the store at start and not yet raised again by this process's diagnosis. */
  restored: boolean;
  row: StoredEvent;
}

/**
 * Turns the emitted CloudEvents into stored rows: one row per occurrence of a problem (its fingerprint from
 * firing to resolved), updated in place, so `/api/v1/events` lists problems, not emissions. Each emission keeps
 * its own CloudEvents id in the row's body for sinks that dedup on it.
 *
 * The diagnosis lives in memory; after a restart it raises persisting problems again under the same fingerprint,
 * which continues the stored row. Rows it does not raise again within a grace period ended while the collector was
 * down: `staleRows` resolves them.
 */
export class EventRecorder {
  readonly #open = new Map<string, OpenRow>();
  #restoredAt = 0;

  /** Loads firing rows left by a previous run. */
  async restore(store: Pick<Store, 'listEvents'>, now: number): Promise<number> {
    let cursor: string | undefined;
    let n = 0;
    do {
      const page = await store.listEvents({ status: 'firing', limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const row of page.items) {
        if (this.#open.has(row.fingerprint)) continue;
        this.#open.set(row.fingerprint, { id: row.id, createdAt: row.createdAt, restored: true, row });
        n++;
      }
      cursor = page.nextCursor;
    } while (cursor);
    this.#restoredAt = n > 0 ? now : 0;
    return n;
  }

  /** The rows to upsert for emitted events, in order. */
  rows(events: readonly DiagnosisEvent[]): StoredEvent[] {
    return events.map((e) => {
      const at = Date.parse(e.time);
      const open = this.#open.get(e.fingerprint);
      const row = storedEventRow(e, open?.id ?? e.id, open?.createdAt ?? at, at);
      if (e.status === 'resolved') this.#open.delete(e.fingerprint);
      else this.#open.set(e.fingerprint, { id: row.id, createdAt: row.createdAt, restored: false, row });
      return row;
    });
  }

  /**
   * Once `graceMs` have passed since `restore`, the restored rows that the diagnosis has not raised again (neither
   * firing nor pending in `stillOpen`) as resolved rows, and forgets them.
   */
  staleRows(now: number, graceMs: number, stillOpen: ReadonlySet<string>): StoredEvent[] {
    if (this.#restoredAt === 0 || now - this.#restoredAt < graceMs) return [];
    const out: StoredEvent[] = [];
    for (const [fp, o] of this.#open) {
      if (!o.restored || stillOpen.has(fp)) continue;
      this.#open.delete(fp);
      const body = typeof o.row.body === 'object' && o.row.body !== null ? { ...(o.row.body as Record<string, unknown>), status: 'resolved', time: new Date(now).toISOString() } : o.row.body;
      out.push({ ...o.row, status: 'resolved', body, updatedAt: now, resolvedAt: now });
    }
    // Restored rows whose problem is pending again are decided on a later pass, when it fires or disappears.
    if (![...this.#open.values()].some((o) => o.restored)) this.#restoredAt = 0;
    return out;
  }

  /** Rows of a previous run are still waiting to be raised again or resolved. */
  get restoring(): boolean {
    return this.#restoredAt !== 0;
  }

  /** Problems with an open row. */
  get openCount(): number {
    return this.#open.size;
  }
}
