import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { DiagnosisEvent, Evidence } from '../../src/protocol/index.ts';
import { fingerprint } from './fingerprint.ts';

type EvidenceItem = z.output<typeof Evidence>;

/** What the diagnosis wants said about one problem; the book turns it into CloudEvents. */
export interface EventSpec {
  /** Short type name; the event type is `io.podpulse.<type>`. */
  type: string;
  /** With the type, the identity of the problem (hashed into the fingerprint). */
  groupKey: string;
  severity: DiagnosisEvent['severity'];
  summary: string;
  subject?: string;
  app?: string;
  tenant?: string;
  evidence: EvidenceItem[];
  instances?: string[];
  labels?: Record<string, string>;
}

interface Entry {
  fingerprint: string;
  spec: EventSpec;
  status: 'pending' | 'firing';
  revision: number;
  lastEmittedAt: number;
  /** Content changed since the last emission but the update was rate-limited. */
  dirty: boolean;
}

const LIMITS = { summary: 1024, subject: 512, evidence: 100, instances: 1000, text: 1024 } as const;
const cut = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/**
 * The lifecycle of diagnosis events, deduplicated by fingerprint: a problem that persists is one event that is
 * updated, not many. `pending` events are kept (and listed by `open()`) but not emitted: a condition shorter
 * than its `for` duration announces nothing. Emitted are: firing, content updates of a firing event (severity at
 * once, the rest at most once per `updateMinIntervalMs`), and resolved.
 */
export class EventBook {
  private readonly entries = new Map<string, Entry>();
  private outbox: DiagnosisEvent[] = [];
  private readonly source: string;
  private readonly updateMinIntervalMs: number;

  constructor(opts: { source: string; updateMinIntervalMs: number }) {
    this.source = opts.source;
    this.updateMinIntervalMs = opts.updateMinIntervalMs;
  }

  /** Opens or updates the event for `spec` in the given status. */
  set(spec: EventSpec, status: 'pending' | 'firing', at: number): void {
    const fp = fingerprint(spec.type, spec.groupKey);
    const e = this.entries.get(fp);
    if (!e) {
      const entry: Entry = { fingerprint: fp, spec, status, revision: 0, lastEmittedAt: at, dirty: false };
      this.entries.set(fp, entry);
      if (status === 'firing') this.emit(entry, 'firing', at);
      return;
    }
    const severityChanged = e.spec.severity !== spec.severity;
    const changed = severityChanged || e.spec.summary !== spec.summary;
    e.spec = spec;
    if (e.status === 'pending' && status === 'firing') {
      e.status = 'firing';
      this.emit(e, 'firing', at);
    } else if (e.status === 'firing' && changed) {
      if (severityChanged || at - e.lastEmittedAt >= this.updateMinIntervalMs) this.emit(e, 'firing', at);
      else e.dirty = true;
    }
  }

  /** Ends the event: a firing one is emitted as resolved, a pending one disappears silently. */
  resolve(type: string, groupKey: string, at: number): void {
    const fp = fingerprint(type, groupKey);
    const e = this.entries.get(fp);
    if (!e) return;
    this.entries.delete(fp);
    if (e.status === 'firing') this.emit(e, 'resolved', at);
  }

  /** Whether the event is open, and in which status. */
  status(type: string, groupKey: string): 'pending' | 'firing' | undefined {
    return this.entries.get(fingerprint(type, groupKey))?.status;
  }

  /** Emits rate-limited updates whose time has come. */
  flush(now: number): void {
    for (const e of this.entries.values()) {
      if (e.dirty && now - e.lastEmittedAt >= this.updateMinIntervalMs) this.emit(e, 'firing', now);
    }
  }

  /** Drains the emitted events, oldest first. */
  take(): DiagnosisEvent[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  /** The open (pending and firing) events as they stand, for the read API. */
  open(at: number): DiagnosisEvent[] {
    return [...this.entries.values()].map((e) => this.build(e, e.status, at));
  }

  get size(): number {
    return this.entries.size;
  }

  private emit(e: Entry, status: DiagnosisEvent['status'], at: number): void {
    e.revision++;
    e.lastEmittedAt = at;
    e.dirty = false;
    this.outbox.push(this.build(e, status, at));
  }

  private build(e: Entry, status: DiagnosisEvent['status'], at: number): DiagnosisEvent {
    const s = e.spec;
    const time = new Date(at).toISOString();
    // Unique per occurrence (CloudEvents: source + id), deterministic for the same inputs, so receivers of an
    // at-least-once delivery can drop the duplicate by id.
    const id = createHash('sha256').update(`${e.fingerprint}:${e.revision}:${status}:${time}`).digest('hex').slice(0, 32);
    return {
      specversion: '1.0',
      id,
      source: this.source,
      type: `io.podpulse.${s.type}`,
      ...(s.subject ? { subject: cut(s.subject, LIMITS.subject) } : {}),
      time,
      datacontenttype: 'application/json',
      severity: s.severity,
      ...(s.app ? { app: s.app } : {}),
      ...(s.tenant ? { tenant: s.tenant } : {}),
      fingerprint: e.fingerprint,
      status,
      data: {
        summary: cut(s.summary, LIMITS.summary),
        evidence: s.evidence.slice(0, LIMITS.evidence).map((ev) => ({
          ...ev,
          subject: cut(ev.subject, 512),
          ...(typeof ev.value === 'string' ? { value: cut(ev.value, LIMITS.text) } : {}),
        })),
        ...(s.instances ? { instances: s.instances.slice(0, LIMITS.instances) } : {}),
        ...(s.labels ? { labels: s.labels } : {}),
      },
    };
  }
}
