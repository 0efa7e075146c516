import type { EvidenceItem } from './problem.ts';

/**
 * What Kubernetes says about a pod. Every field is optional: `undefined` means "not known", and the diagnosis then
 * behaves as if there were no cluster at all.
 */
export interface PodFacts {
  /** The pod object was deleted (or is terminating): its silence is expected. */
  deleted?: boolean;
  /** The podpulse sidecar container's readiness. */
  sidecarReady?: boolean;
  /** The last termination reason of the app container (`OOMKilled`), or `Evicted` for an evicted pod. */
  terminationReason?: string;
  /** The app's workload reports no available replicas. */
  appUnavailable?: boolean;
  /** `status.phase`. */
  phase?: string;
  /** `spec.nodeName`. */
  node?: string;
  /** The pod's Ready condition. */
  ready?: boolean;
  /** The sidecar container is in CrashLoopBackOff, or has restarted and is not ready. */
  sidecarRestarting?: boolean;
  /** Set when the pod's end was planned (its ReplicaSet scaled to zero, a completed rollout): retire quietly. */
  retiredBy?: string;
}

/** What Kubernetes says about a node. */
export interface NodeFacts {
  /** The node's Ready condition; false covers NotReady and Unknown (node lost). */
  ready?: boolean;
  /** `topology.kubernetes.io/zone`. */
  zone?: string;
  /** The Ready condition's status as given: `True`, `False` or `Unknown`. */
  readyStatus?: string;
}

/**
 * The seam for the watch engine: it answers from its informer-less watch state; the diagnosis asks when an
 * instance goes silent or a group is named. Implementations must answer from memory, without I/O.
 */
export interface KubeFacts {
  podFacts(podUid: string): PodFacts;
  nodeFacts(name: string): NodeFacts;
}

/** Knows nothing: the default outside a cluster and until the watch engine is wired in. */
export const UNKNOWN_KUBE_FACTS: KubeFacts = {
  podFacts: () => ({}),
  nodeFacts: () => ({}),
};

/** How a silent instance is announced, once Kubernetes has had its say. */
export type SilentVerdict =
  | { action: 'retire'; reason: string }
  | { action: 'event'; type: 'instance-silent' | 'node-lost' | 'probe-down'; groupKey: string; summary: string; evidence: EvidenceItem[] };

/**
 * Decides what a silent instance means: a deleted pod is retired quietly; a pod on a NotReady node is part of one
 * `node-lost` event per node; a pod whose sidecar is not ready is `probe-down`; otherwise it is `instance-silent`.
 * A known termination reason (OOMKilled, Evicted) is named in the summary and evidence.
 */
export function silentVerdict(kube: KubeFacts, podUid: string, node: string | undefined, where: string, baseSummary: string): SilentVerdict {
  const pod = kube.podFacts(podUid);
  if (pod.deleted) return { action: 'retire', reason: 'pod deleted' };
  if (pod.retiredBy) return { action: 'retire', reason: `pod ${pod.retiredBy}` };
  const evidence: EvidenceItem[] = [];
  const named = pod.terminationReason ? ` (last termination: ${pod.terminationReason})` : '';
  if (pod.terminationReason) evidence.push({ kind: 'kubernetes', subject: where, field: 'lastState.terminated.reason', value: pod.terminationReason });
  if (pod.appUnavailable) evidence.push({ kind: 'kubernetes', subject: where, field: 'app.available', value: false });
  const onNode = node ?? pod.node;
  const nf = onNode !== undefined ? kube.nodeFacts(onNode) : undefined;
  if (onNode !== undefined && nf?.ready === false) {
    evidence.push({ kind: 'kubernetes', subject: `node/${onNode}`, field: 'status.conditions[type=Ready].status', value: nf.readyStatus ?? false });
    return { action: 'event', type: 'node-lost', groupKey: onNode, summary: `node ${onNode} is not ready: its instances went silent`, evidence };
  }
  // The sidecar is down while the pod itself runs: the probe is what failed, not the app.
  if (pod.phase !== undefined && pod.phase !== 'Running' && pod.phase !== 'Pending') {
    evidence.push({ kind: 'kubernetes', subject: where, field: 'status.phase', value: pod.phase });
  } else if (pod.sidecarReady === false || pod.sidecarRestarting === true) {
    evidence.push({ kind: 'kubernetes', subject: where, field: 'containerStatuses[podpulse].ready', value: pod.sidecarReady ?? false });
    if (pod.sidecarRestarting) evidence.push({ kind: 'kubernetes', subject: where, field: 'containerStatuses[podpulse].restarting', value: true });
    return { action: 'event', type: 'probe-down', groupKey: podUid, summary: `probe sidecar on ${where} is ${pod.sidecarRestarting ? 'restarting' : 'not ready'}${named}`, evidence };
  }
  return { action: 'event', type: 'instance-silent', groupKey: podUid, summary: `${baseSummary}${named}`, evidence };
}
