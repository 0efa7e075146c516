import { formatDuration } from '../../src/units.ts';
import type { EventBook, EventSpec } from '../events/event-lifecycle.ts';
import type { InstanceState } from './instance-state.ts';
import { silentVerdict, type KubeFacts } from './kube-facts.ts';
import type { MassSilenceDetector } from './mass-silence.ts';
import type { Problem, ProblemChange } from './problem.ts';

/** An instance-level event (silent, probe-broken, flapping, probe-down) for one problem. */
export function instanceSpec(type: string, groupKey: string, p: Problem, summary = p.summary, evidence = p.evidence): EventSpec {
  return {
    type,
    groupKey,
    severity: p.severity,
    summary,
    subject: `${p.instance.namespace}/${p.instance.pod}`,
    app: p.instance.app,
    tenant: p.instance.tenant,
    evidence,
    instances: [p.podUid],
    labels: { node: p.instance.node ?? '', namespace: p.instance.namespace },
  };
}

type Retire = (reason: string) => void;

/**
 * Decides how silences are announced: held during a fleet-wide silence (ingest suspected), retired quietly when
 * Kubernetes says the pod is gone, folded into one `node-lost` event per NotReady node, `probe-down` when the
 * sidecar is not ready, else one `instance-silent` event per instance.
 */
export class SilenceRouter {
  /** podUid → the event its silence was announced under. */
  private readonly announced = new Map<string, { type: string; groupKey: string }>();
  /** node → silent instances announced as part of that node's `node-lost` event. */
  private readonly nodeLost = new Map<string, Map<string, Problem>>();
  private readonly book: EventBook;
  private readonly kube: KubeFacts;
  private readonly massSilence: MassSilenceDetector;

  constructor(opts: { book: EventBook; kube: KubeFacts; massSilence: MassSilenceDetector }) {
    this.book = opts.book;
    this.kube = opts.kube;
    this.massSilence = opts.massSilence;
  }

  apply(c: ProblemChange, st: InstanceState, retire: Retire): void {
    const uid = c.problem.podUid;
    if (c.op === 'start' && this.kube.podFacts(uid).deleted) return retire('pod deleted');
    if (c.op === 'fire' && !this.massSilence.holds(uid)) this.announce(st, c.at, retire);
    if (c.op === 'resolve' || c.op === 'cancel') this.withdraw(uid, c.at);
  }

  /** Announces one silent instance now (its silence fired, or it was released from a fleet-wide hold). */
  announce(st: InstanceState, at: number, retire: Retire): void {
    const p = st.silentProblem();
    const where = `${p.instance.namespace}/${p.instance.pod}`;
    const v = silentVerdict(this.kube, p.podUid, p.instance.node, where, p.summary);
    if (v.action === 'retire') return retire(v.reason);
    this.announced.set(p.podUid, { type: v.type, groupKey: v.groupKey });
    if (v.type !== 'node-lost') {
      this.book.set(instanceSpec(v.type, v.groupKey, p, v.summary, [...p.evidence, ...v.evidence]), 'firing', at);
      return;
    }
    let members = this.nodeLost.get(v.groupKey);
    if (!members) this.nodeLost.set(v.groupKey, (members = new Map<string, Problem>()));
    members.set(p.podUid, { ...p, evidence: [...v.evidence, ...p.evidence] });
    this.book.set(this.nodeLostSpec(v.groupKey, members), 'firing', at);
  }

  /** The instance was heard from, or retired: its silence event ends (a node-lost event when its last one does). */
  withdraw(uid: string, at: number): void {
    const a = this.announced.get(uid);
    if (!a) return;
    this.announced.delete(uid);
    if (a.type !== 'node-lost') return this.book.resolve(a.type, a.groupKey, at);
    const members = this.nodeLost.get(a.groupKey);
    members?.delete(uid);
    if (!members || members.size === 0) {
      this.nodeLost.delete(a.groupKey);
      this.book.resolve(a.type, a.groupKey, at);
    } else this.book.set(this.nodeLostSpec(a.groupKey, members), 'firing', at);
  }

  /** Opens (or updates) the one fleet-wide event: many instances went silent together. */
  suspectIngest(silentCount: number, activeCount: number, windowMs: number, at: number): void {
    const pct = Math.round((100 * silentCount) / Math.max(1, activeCount));
    this.book.set(
      {
        type: 'ingest-suspect',
        groupKey: 'fleet',
        severity: 'critical',
        summary: `${silentCount} of ${activeCount} instances (${pct}%) went silent within ${formatDuration(windowMs)}: suspect the collector's ingest path or the network, not the pods; per-instance silence events are held`,
        evidence: [{ kind: 'fleet', subject: 'instances', field: 'silent', value: silentCount }, { kind: 'fleet', subject: 'instances', field: 'active', value: activeCount }],
      },
      'firing',
      at,
    );
  }

  clearIngest(at: number): void {
    this.book.resolve('ingest-suspect', 'fleet', at);
  }

  private nodeLostSpec(node: string, members: Map<string, Problem>): EventSpec {
    const list = [...members.values()].sort((a, b) => (a.podUid < b.podUid ? -1 : 1));
    const apps = new Set(list.map((p) => p.instance.app));
    const [app] = apps;
    return {
      type: 'node-lost',
      groupKey: node,
      severity: 'critical',
      summary: `node ${node} is not ready: ${list.length} instance${list.length === 1 ? '' : 's'} of ${apps.size === 1 ? `app ${app}` : `${apps.size} apps`} went silent`,
      subject: `node/${node}`,
      ...(apps.size === 1 ? { app } : {}),
      evidence: list.slice(0, 20).flatMap((p) => p.evidence),
      instances: list.map((p) => p.podUid),
      labels: { node, instances: String(list.length) },
    };
  }
}
