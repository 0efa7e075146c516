import type { EventBook, EventSpec } from '../events/event-lifecycle.ts';
import type { Problem, ProblemChange } from './problem.ts';

/** One instance's failing check, as a member of a dependency group. */
interface Member {
  problem: Problem;
  firing: boolean;
  /** Folded into the group: never announced on its own. */
  covered: boolean;
}

interface Group {
  key: string;
  members: Map<string, Member>;
  /** Members whose own problem fires: the group fires once one does. */
  firing: number;
  /** Formed once minInstances members were present at the same time; lives until its last member resolves. */
  formed: boolean;
  /** When its event's content was last built (see GROUP_REFRESH_MS). */
  builtAt: number;
}

/** Resolves a node's zone, or undefined when unknown. */
export type ZoneOf = (node: string) => string | undefined;

const MAX_MEMBER_EVIDENCE = 20;

/**
 * A formed group's event content (count, common factor, evidence) is rebuilt at most this often while only its
 * membership moves. Building it sorts every member, so rebuilding it after each committed batch made a fleet-wide
 * outage quadratic: 10,000 instances joining one group in batches of 20 cost 6 s of CPU per round of heartbeats,
 * at the moment the collector matters most. Becoming firing or resolved is never delayed, and the event book
 * rate-limits content updates of a firing event far more than this anyway.
 */
const GROUP_REFRESH_MS = 1000;

/** The event types one correlator speaks, and how its group names what its members share. */
export interface CorrelatorKind {
  /** Per-instance event type (`check-failing`). */
  individual: string;
  /** Group event type (`dependency-failing`). */
  group: string;
  /** The head of the group summary, before "on N instances …" (`dns mysql.prod.svc DNS_NXDOMAIN`). */
  describe: (first: Problem, target: string) => string;
}

/** Failing checks grouped by dependency target. */
export const CHECK_GROUPS: CorrelatorKind = {
  individual: 'check-failing',
  group: 'dependency-failing',
  describe: (p, target) => `${p.checkKind ?? 'check'} ${target} ${p.code ?? ''}`,
};

/** Flapping checks grouped the same way: an intermittent dependency flaps everywhere at once. */
export const FLAP_GROUPS: CorrelatorKind = {
  individual: 'check-flapping',
  group: 'dependency-flapping',
  describe: (p, target) => `${p.checkKind ?? 'check'} ${target} flapping (${p.code ?? ''})`,
};

/** Broken probes grouped by cause and worker version (a bad release). */
export const PROBE_GROUPS: CorrelatorKind = {
  individual: 'probe-broken',
  group: 'probe-broken-fleet',
  describe: (_p, target) => `probe ${target}`,
};

/**
 * The blast radius: failing checks are grouped by their target key (see target-key.ts). Once `minInstances`
 * instances fail the same target, the group is announced as ONE `dependency-failing` event naming the target,
 * the code, the count and the common factor (one app, one node, one zone, one tenant), and the per-instance
 * events it covers are never emitted. Pending members count, so instances whose failures arrive a heartbeat apart
 * still group before the first one's `for` elapses. An instance already announced on its own before the group
 * formed keeps its own event (resolving it would wrongly say it recovered) and is counted in the group.
 */
export class FleetCorrelator {
  private readonly groups = new Map<string, Group>();
  /** problem key → group key, to follow a member whose code (and so its key) changes. */
  private readonly memberOf = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private readonly minInstances: number;
  private readonly zoneOf: ZoneOf;
  private readonly book: EventBook;
  private readonly kind: CorrelatorKind;

  constructor(opts: { minInstances: number; zoneOf: ZoneOf; book: EventBook; kind?: CorrelatorKind }) {
    this.kind = opts.kind ?? CHECK_GROUPS;
    this.minInstances = opts.minInstances;
    this.zoneOf = opts.zoneOf;
    this.book = opts.book;
  }

  /** Applies one `check` problem change. Call `flush` after a batch. */
  apply(change: ProblemChange): void {
    const { op, problem: p, at } = change;
    const key = p.target?.key ?? p.key;
    const oldKey = this.memberOf.get(p.key);
    if (op === 'resolve' || op === 'cancel') return this.remove(p, at, true);
    if (op === 'start') return this.add(p, false, at);
    if (oldKey !== undefined && oldKey !== key) {
      // The code changed: the instance now fails a different target key, so it moves groups.
      const wasFiring = this.groups.get(oldKey)?.members.get(p.key)?.firing ?? false;
      this.remove(p, at, false);
      this.add(p, wasFiring || op === 'fire', at);
      return;
    }
    const g = this.groups.get(key);
    const m = g?.members.get(p.key);
    if (!g || !m) return this.add(p, op === 'fire', at);
    m.problem = p;
    if (op === 'fire' && !m.firing) {
      m.firing = true;
      g.firing++;
    }
    this.dirty.add(key);
    if (!m.covered) this.book.set(individualSpec(this.kind.individual, p), m.firing ? 'firing' : 'pending', at);
  }

  /**
   * Announces the groups changed since the last flush. A group whose event keeps its status but changed content
   * within GROUP_REFRESH_MS of its last build stays dirty for a later flush (the next batch or tick).
   */
  flush(at: number): void {
    for (const key of this.dirty) {
      const g = this.groups.get(key);
      if (g && g.members.size === 0) {
        if (g.formed) this.book.resolve(this.kind.group, key, at);
        this.groups.delete(key);
      } else if (g?.formed) {
        const was = this.book.status(this.kind.group, key);
        const status = was === 'firing' || g.firing > 0 ? 'firing' : 'pending';
        if (status === was && at - g.builtAt < GROUP_REFRESH_MS) continue;
        this.book.set(this.groupSpec(g), status, at);
        g.builtAt = at;
      }
      this.dirty.delete(key);
    }
  }

  /** Number of groups being tracked (formed or not), for metrics and tests. */
  get groupCount(): number {
    return this.groups.size;
  }

  private add(p: Problem, firing: boolean, at: number): void {
    const key = p.target?.key ?? p.key;
    let g = this.groups.get(key);
    if (!g) {
      g = { key, members: new Map(), firing: 0, formed: false, builtAt: 0 };
      this.groups.set(key, g);
    }
    // An instance already announced on its own keeps its event even when it joins a formed group.
    const covered = g.formed && this.book.status(this.kind.individual, p.key) !== 'firing';
    if (covered) this.book.resolve(this.kind.individual, p.key, at);
    const m: Member = { problem: p, firing, covered };
    g.members.set(p.key, m);
    if (firing) g.firing++;
    this.memberOf.set(p.key, key);
    this.dirty.add(key);
    if (!g.formed && g.members.size >= this.minInstances) {
      g.formed = true;
      for (const other of g.members.values()) {
        if (other.covered) continue;
        // Members not yet announced on their own fold into the group; their pending events disappear quietly.
        if (this.book.status(this.kind.individual, other.problem.key) !== 'firing') {
          other.covered = true;
          this.book.resolve(this.kind.individual, other.problem.key, at);
        }
      }
    }
    if (!m.covered) this.book.set(individualSpec(this.kind.individual, p), firing ? 'firing' : 'pending', at);
  }

  private remove(p: Problem, at: number, announce: boolean): void {
    const key = this.memberOf.get(p.key);
    if (key === undefined) return;
    this.memberOf.delete(p.key);
    const g = this.groups.get(key);
    const m = g?.members.get(p.key);
    if (!g || !m) return;
    g.members.delete(p.key);
    if (m.firing) g.firing--;
    this.dirty.add(key);
    if (announce && !m.covered) this.book.resolve(this.kind.individual, p.key, at);
  }

  private groupSpec(g: Group): EventSpec {
    const members = [...g.members.values()].sort((a, b) => (a.problem.podUid < b.problem.podUid ? -1 : 1));
    const first = members[0]!.problem;
    const apps = new Set<string>();
    const nodes = new Set<string>();
    const zones = new Set<string | undefined>();
    const tenants = new Set<string>();
    let severity: EventSpec['severity'] = 'warning';
    for (const { problem: p } of members) {
      apps.add(p.instance.app);
      tenants.add(p.instance.tenant);
      const node = p.instance.node ?? '';
      nodes.add(node);
      zones.add(node ? this.zoneOf(node) : undefined);
      if (p.severity === 'critical') severity = 'critical';
    }
    const n = members.length;
    const [app] = apps;
    const [node] = nodes;
    const [zone] = zones;
    const [tenant] = tenants;
    const target = first.target?.target ?? first.checkId ?? '';
    let summary = `${this.kind.describe(first, target)} on ${n} instance${n === 1 ? '' : 's'} of ${apps.size === 1 ? `app ${app}` : `${apps.size} apps`}`;
    const labels: Record<string, string> = { kind: first.checkKind ?? '', target, code: first.code ?? '', instances: String(n), apps: String(apps.size) };
    if (nodes.size === 1 && node) {
      summary += `, all on node ${node}`;
      labels['node'] = node;
    } else if (zones.size === 1 && zone !== undefined) {
      summary += `, all in zone ${zone} (${nodes.size} nodes)`;
      labels['zone'] = zone;
    } else if (nodes.size > 1) summary += ` across ${nodes.size} nodes`;
    if (apps.size > 1 && tenants.size === 1 && tenant) {
      summary += `, all of tenant ${tenant}`;
      labels['tenant'] = tenant;
    }
    return {
      type: this.kind.group,
      groupKey: g.key,
      severity,
      summary,
      subject: target,
      ...(apps.size === 1 ? { app } : {}),
      ...(tenants.size === 1 && tenant ? { tenant } : {}),
      evidence: [
        { kind: 'fleet', subject: target, field: 'instances', value: n, ...(first.code ? { code: first.code } : {}) },
        ...members.slice(0, MAX_MEMBER_EVIDENCE).flatMap((m) => m.problem.evidence),
      ],
      instances: members.map((m) => m.problem.podUid),
      labels,
    };
  }
}

/** The per-instance event of a problem the group did not cover. */
export function individualSpec(type: string, p: Problem): EventSpec {
  return {
    type,
    groupKey: p.key,
    severity: p.severity,
    summary: p.summary,
    subject: `${p.instance.namespace}/${p.instance.pod}`,
    app: p.instance.app,
    tenant: p.instance.tenant,
    evidence: p.evidence,
    instances: [p.podUid],
    labels: { node: p.instance.node ?? '', kind: p.checkKind ?? '', check: p.checkId ?? '', code: p.code ?? '', target: p.target?.target ?? '' },
  };
}
