import { RecordConflictError, recordLimit, type ListRecordsOptions, type RecordStore, type StoredRecord } from '../../collector/store/record-store.ts';

/**
 * The RecordStore contract in memory, for unit tests of logic built on it (the SQLite and PostgreSQL stores pass
 * the same contract in the store conformance suite). Bodies are deep-copied in and out, as a real store would.
 */
export class MemoryRecordStore implements RecordStore {
  readonly #records = new Map<string, StoredRecord<unknown>>();
  now: () => number = Date.now;

  getRecord<T>(kind: string, id: string): Promise<StoredRecord<T> | undefined> {
    const r = this.#records.get(key(kind, id));
    return Promise.resolve(r ? (structuredClone(r) as StoredRecord<T>) : undefined);
  }

  putRecord<T>(kind: string, id: string, body: T, opts: { expectedVersion?: number } = {}): Promise<StoredRecord<T>> {
    const old = this.#records.get(key(kind, id));
    const ev = opts.expectedVersion;
    if (ev !== undefined && (old?.version ?? 0) !== ev) return Promise.reject(new RecordConflictError(kind, id, ev));
    const now = this.now();
    const r: StoredRecord<T> = { kind, id, version: (old?.version ?? 0) + 1, body: structuredClone(body), createdAt: old?.createdAt ?? now, updatedAt: now };
    this.#records.set(key(kind, id), r);
    return Promise.resolve(structuredClone(r));
  }

  listRecords<T>(kind: string, opts: ListRecordsOptions = {}): Promise<StoredRecord<T>[]> {
    const rows = [...this.#records.values()]
      .filter((r) => r.kind === kind && (opts.idPrefix === undefined || r.id.startsWith(opts.idPrefix)))
      .filter((r) => opts.after === undefined || (opts.reverse ? r.id < opts.after : r.id > opts.after))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (opts.reverse) rows.reverse();
    return Promise.resolve(structuredClone(rows.slice(0, recordLimit(opts.limit))) as StoredRecord<T>[]);
  }

  deleteRecord(kind: string, id: string): Promise<boolean> {
    return Promise.resolve(this.#records.delete(key(kind, id)));
  }

  /** How many records of `kind` exist (for assertions). */
  count(kind: string): number {
    return [...this.#records.values()].filter((r) => r.kind === kind).length;
  }
}

const key = (kind: string, id: string): string => `${kind}\u0000${id}`;
