import type { Logger } from '../../../src/log/logger.ts';
import type { OperatorRole } from '../../auth/operator-auth.ts';
import { timeSortableId, type RecordStore } from '../../store/record-store.ts';

export const KIND_AUDIT = 'audit';

/** At most this many pod uids are kept in one entry; `instanceCount` always has the full number. */
const MAX_INSTANCES = 1000;

export type AuditOutcome = 'ok' | 'denied' | 'refused' | 'failed' | 'expired' | 'error';

export interface AuditActor {
  /** `operator` (a bearer token of the operator API), `agent` (a pod), `system` (the collector itself, e.g. expiry). */
  type: 'operator' | 'agent' | 'system';
  name: string;
  role?: OperatorRole;
}

/** One line of the audit log: who did what to which instances, when, and how it ended. */
export interface AuditEntry {
  /** Time-sortable: listing by id is listing by time. */
  id: string;
  at: string;
  actor: AuditActor;
  /** `command.create`, `command.deliver`, `command.result`, `command.expire`, or `<METHOD> <route>` for other writes. */
  action: string;
  outcome: AuditOutcome;
  method?: string;
  path?: string;
  statusCode?: number;
  commandId?: string;
  instances?: string[];
  instanceCount?: number;
  details?: Record<string, unknown>;
}

export type AuditInput = Omit<AuditEntry, 'id' | 'at' | 'instanceCount'>;

export interface AuditFilter {
  actor?: string | undefined;
  /** Exact action, or a prefix ending in `.` or `*` (`command.` matches every command action). */
  action?: string | undefined;
  outcome?: string | undefined;
  /** A pod uid the entry names. */
  instance?: string | undefined;
  commandId?: string | undefined;
  /** Epoch ms, inclusive. */
  since?: number | undefined;
  until?: number | undefined;
  limit?: number | undefined;
  /** `nextCursor` of the previous page. */
  cursor?: string | undefined;
}

/** Records scanned per call at most: a filter that matches little answers a short page plus a cursor, not a timeout. */
const SCAN_BUDGET = 20_000;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** The first 10 characters of every timeSortableId made at `ms`. */
export function timePrefix(ms: number): string {
  let out = '';
  let t = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  return out;
}

/** The append-only audit log over the record store, newest first when read. */
export class AuditLog {
  readonly #store: RecordStore;
  readonly #log: Logger;
  readonly #now: () => number;

  constructor(store: RecordStore, log: Logger, now: () => number = Date.now) {
    this.#store = store;
    this.#log = log;
    this.#now = now;
  }

  /** Writes one entry. A store failure is logged and rethrown: callers decide whether the action may go on unaudited. */
  async write(input: AuditInput): Promise<AuditEntry> {
    const now = this.#now();
    const entry: AuditEntry = { id: timeSortableId(now), at: new Date(now).toISOString(), ...input };
    if (input.instances) {
      entry.instanceCount = input.instances.length;
      if (input.instances.length > MAX_INSTANCES) entry.instances = input.instances.slice(0, MAX_INSTANCES);
    }
    try {
      await this.#store.putRecord(KIND_AUDIT, entry.id, entry, { expectedVersion: 0 });
    } catch (err) {
      this.#log.error({ err, action: entry.action, actor: entry.actor.name }, 'could not write an audit entry');
      throw err;
    }
    return entry;
  }

  /**
   * Deletes entries written before `before` (epoch ms), oldest first, at most `max` per call (the next call goes on);
   * returns how many it deleted.
   */
  async prune(before: number, max = 10_000): Promise<number> {
    const floor = timePrefix(before);
    let deleted = 0;
    while (deleted < max) {
      const page = await this.#store.listRecords<AuditEntry>(KIND_AUDIT, { limit: 1000 });
      const old = page.filter((r) => r.id < floor);
      for (const r of old) if (await this.#store.deleteRecord(KIND_AUDIT, r.id)) deleted++;
      if (old.length < page.length || page.length < 1000) break;
    }
    return deleted;
  }

  /** Newest first, filtered; `nextCursor` is set while older entries remain to be scanned. */
  async list(f: AuditFilter): Promise<{ items: AuditEntry[]; nextCursor?: string }> {
    const limit = Math.min(1000, Math.max(1, f.limit ?? 100));
    // Reverse listing with `after` yields ids below it; an `until` bound starts below the first id of the next ms.
    let after = f.cursor ?? (f.until !== undefined ? timePrefix(f.until + 1) : undefined);
    const sinceFloor = f.since !== undefined ? timePrefix(f.since) : undefined;
    const items: AuditEntry[] = [];
    let scanned = 0;
    for (;;) {
      const page = await this.#store.listRecords<AuditEntry>(KIND_AUDIT, { reverse: true, limit: 500, ...(after !== undefined ? { after } : {}) });
      for (const r of page) {
        if (sinceFloor !== undefined && r.id < sinceFloor) return { items };
        scanned++;
        after = r.id;
        if (matches(r.body, f)) {
          items.push(r.body);
          if (items.length === limit) return { items, nextCursor: r.id };
        }
      }
      if (page.length < 500) return { items };
      if (scanned >= SCAN_BUDGET) return { items, nextCursor: after! };
    }
  }
}

function matches(e: AuditEntry, f: AuditFilter): boolean {
  if (f.actor !== undefined && e.actor.name !== f.actor) return false;
  if (f.action !== undefined) {
    const a = f.action;
    const prefix = a.endsWith('*') ? a.slice(0, -1) : a.endsWith('.') ? a : undefined;
    if (prefix !== undefined ? !e.action.startsWith(prefix) : e.action !== a) return false;
  }
  if (f.outcome !== undefined && e.outcome !== f.outcome) return false;
  if (f.commandId !== undefined && e.commandId !== f.commandId) return false;
  if (f.instance !== undefined && !(e.instances ?? []).includes(f.instance.toLowerCase())) return false;
  return true;
}
