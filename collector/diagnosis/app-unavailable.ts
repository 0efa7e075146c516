import type { EventBook, EventSpec } from '../events/event-lifecycle.ts';
import type { KubeFacts, PodFacts } from './kube-facts.ts';
import type { EvidenceItem, Problem, ProblemChange } from './problem.ts';

/**
 * Failing dependency checks in a pod Kubernetes reports not Ready: the app is unavailable, and the failing
 * dependency is its probable cause. Undefined when the pod is Ready or its readiness is unknown.
 */
export function appUnavailableSpec(pod: PodFacts, failing: readonly Problem[]): EventSpec | undefined {
  if (pod.ready !== false || failing.length === 0) return undefined;
  const sorted = [...failing].sort((a, b) => (a.severity === b.severity ? ((a.checkId ?? '') < (b.checkId ?? '') ? -1 : 1) : a.severity === 'critical' ? -1 : 1));
  const first = sorted[0]!;
  const i = first.instance;
  const where = `${i.namespace}/${i.pod}`;
  const cause = `${first.checkKind ?? 'check'} ${first.target?.target ?? first.checkId ?? '?'} ${first.code ?? ''}`.trim();
  const more = sorted.length > 1 ? ` (and ${sorted.length - 1} more failing check${sorted.length > 2 ? 's' : ''})` : '';
  const evidence: EvidenceItem[] = [
    { kind: 'kubernetes', subject: where, field: 'status.conditions[type=Ready].status', value: 'False' },
    ...sorted.flatMap((p) => p.evidence),
  ];
  return {
    type: 'app-unavailable',
    groupKey: first.podUid,
    severity: 'critical',
    summary: `app ${i.app} is unavailable on ${where}: the pod is not Ready; probable cause: ${cause}${more}`,
    subject: where,
    app: i.app,
    tenant: i.tenant,
    evidence,
    instances: [first.podUid],
    labels: { namespace: i.namespace, node: i.node ?? '', cause: first.target?.target ?? first.checkId ?? '' },
  };
}

/**
 * Keeps the firing check problems per pod and, with what Kubernetes says about the pod's readiness, opens or
 * resolves one `app-unavailable` event per pod. Readiness changes without a heartbeat, so `tick` re-decides.
 */
export class AppUnavailableTracker {
  readonly #failing = new Map<string, Map<string, Problem>>();
  readonly #open = new Set<string>();
  readonly #book: EventBook;
  readonly #kube: KubeFacts;

  constructor(opts: { book: EventBook; kube: KubeFacts }) {
    this.#book = opts.book;
    this.#kube = opts.kube;
  }

  apply(c: ProblemChange): void {
    if (c.problem.kind !== 'check') return;
    const uid = c.problem.podUid;
    let m = this.#failing.get(uid);
    if (c.op === 'fire' || (c.op === 'update' && m?.has(c.problem.key))) {
      if (!m) this.#failing.set(uid, (m = new Map<string, Problem>()));
      m.set(c.problem.key, c.problem);
    } else if (c.op === 'resolve' || c.op === 'cancel') {
      m?.delete(c.problem.key);
      if (m?.size === 0) this.#failing.delete(uid);
    } else return;
    this.#decide(uid, c.at);
  }

  tick(at: number): void {
    for (const uid of this.#failing.keys()) this.#decide(uid, at);
  }

  /** The instance was retired: its event resolves. */
  forget(uid: string, at: number): void {
    this.#failing.delete(uid);
    this.#decide(uid, at);
  }

  #decide(uid: string, at: number): void {
    const failing = [...(this.#failing.get(uid)?.values() ?? [])];
    const spec = appUnavailableSpec(this.#kube.podFacts(uid), failing);
    if (spec) {
      this.#book.set(spec, 'firing', at);
      this.#open.add(uid);
    } else if (this.#open.delete(uid)) this.#book.resolve('app-unavailable', uid, at);
  }
}
