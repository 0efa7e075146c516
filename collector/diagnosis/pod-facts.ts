import type { KubeObject } from '../engine/kube/object-event.ts';
import type { NodeFacts, PodFacts } from './kube-facts.ts';

/** The container the sidecar injector adds (webhook `containerName`); its readiness is the probe's own. */
export const SIDECAR_CONTAINER = 'podpulse-probe';

/** Fields of a Pod the facts read: what the reflector's projection must keep for the joint diagnosis. */
export const POD_FACT_FIELDS: readonly string[][] = [
  ['metadata', 'ownerReferences'],
  ['spec', 'nodeName'],
  ['status', 'phase'],
  ['status', 'reason'],
  ['status', 'conditions', '*', 'type'],
  ['status', 'conditions', '*', 'status'],
  ['status', 'conditions', '*', 'reason'],
  ['status', 'containerStatuses', '*', 'name'],
  ['status', 'containerStatuses', '*', 'ready'],
  ['status', 'containerStatuses', '*', 'restartCount'],
  ['status', 'containerStatuses', '*', 'state', 'waiting', 'reason'],
  ['status', 'containerStatuses', '*', 'state', 'terminated', 'reason'],
  ['status', 'containerStatuses', '*', 'lastState', 'terminated', 'reason'],
  // A native sidecar (restartPolicy Always) is an init container.
  ['status', 'initContainerStatuses', '*', 'name'],
  ['status', 'initContainerStatuses', '*', 'ready'],
  ['status', 'initContainerStatuses', '*', 'restartCount'],
  ['status', 'initContainerStatuses', '*', 'state', 'waiting', 'reason'],
];

export const NODE_FACT_FIELDS: readonly string[][] = [
  ['metadata', 'labels', 'topology.kubernetes.io/zone'],
  ['status', 'conditions', '*', 'type'],
  ['status', 'conditions', '*', 'status'],
];

/** A ReplicaSet's desired replicas: 0 means its pods were scaled down (or replaced by a completed rollout). */
export const REPLICASET_FACT_FIELDS: readonly string[][] = [['spec', 'replicas']];

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj).filter((x): x is Obj => x !== undefined) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Disruption reasons (the DisruptionTarget condition) as the cause the diagnosis names. */
const DISRUPTION: Record<string, string> = {
  PreemptionByScheduler: 'Preempted',
  PreemptionByKubeScheduler: 'Preempted',
  EvictionByEvictionAPI: 'Evicted',
  TerminationByKubelet: 'Evicted',
  DeletionByTaintManager: 'Evicted (node taint)',
  DeletionByPodGC: 'Deleted by pod GC',
};

/** The controlling ReplicaSet of a pod, as `namespace/name`, or undefined. */
export function podOwnerReplicaSet(pod: KubeObject): string | undefined {
  const md = obj(pod.metadata);
  const owner = arr(md?.ownerReferences).find((o) => o.controller === true && o.kind === 'ReplicaSet');
  const ns = str(md?.namespace);
  const name = str(owner?.name);
  return name && ns ? `${ns}/${name}` : undefined;
}

/**
 * What a projected Pod says for the diagnosis. `ownerReplicas` is the desired replicas of its controlling
 * ReplicaSet when known: 0 means the pod went away by a scale-down or a completed rollout, an expected silence.
 */
export function podFactsFromObject(pod: KubeObject, opts: { ownerReplicas?: number; sidecar?: string } = {}): PodFacts {
  const sidecarName = opts.sidecar ?? SIDECAR_CONTAINER;
  const md = obj(pod.metadata);
  const status = obj(pod.status);
  const facts: PodFacts = {};
  if (md?.deletionTimestamp !== undefined && md.deletionTimestamp !== null) facts.deleted = true;
  const phase = str(status?.phase);
  if (phase) facts.phase = phase;
  const node = str(obj(pod.spec)?.nodeName);
  if (node) facts.node = node;
  const conditions = arr(status?.conditions);
  const ready = conditions.find((c) => c.type === 'Ready');
  if (ready) facts.ready = ready.status === 'True';
  const statuses = arr(status?.containerStatuses);
  const sidecar = [...statuses, ...arr(status?.initContainerStatuses)].find((c) => c.name === sidecarName);
  if (sidecar) {
    if (typeof sidecar.ready === 'boolean') facts.sidecarReady = sidecar.ready;
    const waiting = str(obj(obj(sidecar.state)?.waiting)?.reason);
    facts.sidecarRestarting = waiting === 'CrashLoopBackOff' || (typeof sidecar.restartCount === 'number' && sidecar.restartCount > 0 && sidecar.ready !== true);
  }
  // The most telling cause first: the pod was evicted or preempted, then an app container's own termination.
  const disruption = conditions.find((c) => c.type === 'DisruptionTarget' && c.status === 'True');
  const disruptionReason = str(disruption?.reason);
  if (str(status?.reason) === 'Evicted') facts.terminationReason = 'Evicted';
  else if (str(status?.reason) === 'Preempting') facts.terminationReason = 'Preempted';
  else if (disruptionReason && DISRUPTION[disruptionReason]) facts.terminationReason = DISRUPTION[disruptionReason];
  else {
    for (const c of statuses) {
      if (c.name === sidecarName) continue;
      const reason = str(obj(obj(c.state)?.terminated)?.reason) ?? str(obj(obj(c.lastState)?.terminated)?.reason);
      if (reason && reason !== 'Completed') {
        facts.terminationReason = reason;
        break;
      }
    }
  }
  return withOwner(facts, opts.ownerReplicas);
}

/**
 * Adds what the controlling ReplicaSet says: scaled to zero (a scale-down, or the old ReplicaSet of a completed
 * rollout) while the pod is ending or gone means its end was planned.
 */
export function withOwner(facts: PodFacts, ownerReplicas: number | undefined): PodFacts {
  const ending = facts.deleted === true || facts.phase === 'Failed' || facts.phase === 'Succeeded' || facts.terminationReason === 'Evicted';
  return ownerReplicas === 0 && ending ? { ...facts, retiredBy: 'scaled down' } : facts;
}

/** What a projected Node says: Ready is false for NotReady and Unknown (the node is lost). */
export function nodeFactsFromObject(node: KubeObject): NodeFacts {
  const facts: NodeFacts = {};
  const ready = arr(obj(node.status)?.conditions).find((c) => c.type === 'Ready');
  if (ready) {
    facts.ready = ready.status === 'True';
    if (typeof ready.status === 'string') facts.readyStatus = ready.status;
  }
  const zone = str(obj(obj(node.metadata)?.labels)?.['topology.kubernetes.io/zone']);
  if (zone) facts.zone = zone;
  return facts;
}
