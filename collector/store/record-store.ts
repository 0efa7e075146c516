import { randomBytes } from 'node:crypto';

/**
 * A versioned JSON document of the control plane (config documents and revisions, release manifests, rollouts,
 * commands, audit entries). `kind` is the collection, `id` the key within it; `version` starts at 1 and grows by one
 * on each write, so a read-modify-write can detect that someone else wrote in between.
 */
export interface StoredRecord<T> {
  kind: string;
  id: string;
  version: number;
  body: T;
  /** Epoch ms of the first write; kept on replace. */
  createdAt: number;
  updatedAt: number;
}

/** A `putRecord` whose `expectedVersion` did not match what is stored; nothing was written. */
export class RecordConflictError extends Error {
  readonly kind: string;
  readonly id: string;
  readonly expectedVersion: number;

  constructor(kind: string, id: string, expectedVersion: number) {
    super(expectedVersion === 0
      ? `record ${kind}/${id} already exists`
      : `record ${kind}/${id} is not at version ${expectedVersion} (changed concurrently, or missing)`);
    this.name = 'RecordConflictError';
    this.kind = kind;
    this.id = id;
    this.expectedVersion = expectedVersion;
  }
}

export interface ListRecordsOptions {
  idPrefix?: string;
  /** Exclusive cursor: the id of the last record of the previous page. */
  after?: string;
  /** 1..1000, default 100. */
  limit?: number;
  /** Descending id order (newest first for time-sortable ids). */
  reverse?: boolean;
}

export interface RecordStore {
  getRecord<T>(kind: string, id: string): Promise<StoredRecord<T> | undefined>;
  /** Create or replace; version increments. expectedVersion 0 = must not exist; n = must be at version n; else RecordConflictError. */
  putRecord<T>(kind: string, id: string, body: T, opts?: { expectedVersion?: number }): Promise<StoredRecord<T>>;
  /** Ordered by id (ascending, or descending with reverse); `after` = exclusive id cursor; limit default 100, max 1000. */
  listRecords<T>(kind: string, opts?: ListRecordsOptions): Promise<StoredRecord<T>[]>;
  deleteRecord(kind: string, id: string): Promise<boolean>;
}

/** Page size for listRecords: default 100, clamped to 1..1000. */
export function recordLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return 100;
  return Math.min(1000, Math.max(1, Math.floor(limit)));
}

/**
 * Upper bound of the ids starting with `prefix`: ids sort by code point (SQLite BINARY, PostgreSQL COLLATE "C"),
 * and U+10FFFF sorts after every character, so `[prefix, prefix + U+10FFFF)` holds exactly the prefixed ids.
 */
export function prefixUpperBound(prefix: string): string {
  return `${prefix}\u{10FFFF}`;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastMs = -1;
let counter = 0;

/**
 * An id that sorts by creation time (ULID-like: 10 chars of epoch ms, 4 of a per-ms counter, 8 random, Crockford
 * base32). Append-only logs (config revisions, audit entries) key on it, so listing by id is listing by time, and
 * ids made in one process in the same millisecond still sort in creation order.
 */
export function timeSortableId(now: number = Date.now()): string {
  if (now === lastMs) counter++;
  else {
    lastMs = now;
    counter = 0;
  }
  let out = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  let c = counter;
  let cs = '';
  for (let i = 0; i < 4; i++) {
    cs = CROCKFORD[c % 32]! + cs;
    c = Math.floor(c / 32);
  }
  const rnd = randomBytes(8);
  let r = '';
  for (const b of rnd) r += CROCKFORD[b % 32]!;
  return out + cs + r;
}
