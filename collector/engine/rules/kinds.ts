import type { ResourceType } from '../kube/object-event.ts';

/**
 * What the rule checker knows about the shape of an object, as far as CEL sees it (JSON: timestamps are strings).
 * `open` objects accept fields not listed (their type is unknown, `dyn`); closed ones refuse them, so a typo in a
 * well-known place (`metadata.lables`) is caught when the rule is loaded rather than never matching.
 */
export type FieldType =
  | { t: 'string' | 'bool' | 'int' | 'dyn' }
  | { t: 'map'; value: FieldType }
  | { t: 'list'; element: FieldType }
  | { t: 'object'; fields: Readonly<Record<string, FieldType>>; open: boolean };

const S: FieldType = { t: 'string' };
const B: FieldType = { t: 'bool' };
const I: FieldType = { t: 'int' };
const D: FieldType = { t: 'dyn' };
const open = (fields: Record<string, FieldType> = {}): FieldType => ({ t: 'object', fields, open: true });
const closed = (fields: Record<string, FieldType>): FieldType => ({ t: 'object', fields, open: false });
const list = (element: FieldType): FieldType => ({ t: 'list', element });
const strMap: FieldType = { t: 'map', value: S };

const condition = open({ type: S, status: S, reason: S, message: S, lastTransitionTime: S, lastHeartbeatTime: S, lastUpdateTime: S, lastProbeTime: S });
const containerState = open({
  waiting: open({ reason: S, message: S }),
  running: open({ startedAt: S }),
  terminated: open({ reason: S, message: S, exitCode: I, signal: I, startedAt: S, finishedAt: S, containerID: S }),
});
const containerStatus = open({ name: S, ready: B, started: B, restartCount: I, image: S, imageID: S, containerID: S, state: containerState, lastState: containerState });

const metadata = closed({
  name: S, generateName: S, namespace: S, uid: S, resourceVersion: S, generation: I, selfLink: S,
  creationTimestamp: S, deletionTimestamp: S, deletionGracePeriodSeconds: I,
  labels: strMap, annotations: strMap, finalizers: list(S), managedFields: list(D),
  ownerReferences: list(closed({ apiVersion: S, kind: S, name: S, uid: S, controller: B, blockOwnerDeletion: B })),
});

const workloadStatus = open({ replicas: I, readyReplicas: I, availableReplicas: I, updatedReplicas: I, unavailableReplicas: I, observedGeneration: I, conditions: list(condition) });

const object = (spec: FieldType = open(), status: FieldType = open(), extra: Record<string, FieldType> = {}): FieldType =>
  open({ apiVersion: S, kind: S, metadata, spec, status, ...extra });

/** One kind rules may watch or reference. */
export interface KindInfo {
  resource: ResourceType;
  schema: FieldType;
}

const kind = (kind: string, group: string, version: string, plural: string, namespaced: boolean, schema: FieldType): [string, KindInfo] => [
  kind,
  { resource: { group, version, plural, kind, namespaced }, schema },
];

const KINDS = new Map<string, KindInfo>([
  kind('Pod', '', 'v1', 'pods', true, object(
    open({ nodeName: S, serviceAccountName: S, schedulerName: S, priorityClassName: S, containers: list(open({ name: S, image: S })), initContainers: list(open({ name: S, image: S })), volumes: list(D) }),
    open({ phase: S, reason: S, message: S, podIP: S, hostIP: S, nominatedNodeName: S, qosClass: S, startTime: S, conditions: list(condition), containerStatuses: list(containerStatus), initContainerStatuses: list(containerStatus), ephemeralContainerStatuses: list(containerStatus) }),
  )),
  kind('Node', '', 'v1', 'nodes', false, object(
    open({ unschedulable: B, providerID: S, podCIDR: S, taints: list(open({ key: S, value: S, effect: S })) }),
    open({ conditions: list(condition), addresses: list(open({ type: S, address: S })), capacity: strMap, allocatable: strMap, nodeInfo: open() }),
  )),
  kind('Service', '', 'v1', 'services', true, object(open({ type: S, clusterIP: S, externalName: S, selector: strMap, ports: list(D) }), open({ loadBalancer: open() }))),
  kind('Endpoints', '', 'v1', 'endpoints', true, object(open(), open(), { subsets: list(D) })),
  kind('ConfigMap', '', 'v1', 'configmaps', true, object(open(), open(), { data: strMap, binaryData: strMap, immutable: B })),
  kind('Secret', '', 'v1', 'secrets', true, object(open(), open(), { type: S, immutable: B })),
  kind('Namespace', '', 'v1', 'namespaces', false, object(open({ finalizers: list(S) }), open({ phase: S, conditions: list(condition) }))),
  kind('PersistentVolumeClaim', '', 'v1', 'persistentvolumeclaims', true, object(open({ volumeName: S, storageClassName: S }), open({ phase: S, conditions: list(condition) }))),
  kind('PersistentVolume', '', 'v1', 'persistentvolumes', false, object(open({ storageClassName: S, persistentVolumeReclaimPolicy: S }), open({ phase: S, reason: S, message: S }))),
  kind('ServiceAccount', '', 'v1', 'serviceaccounts', true, object()),
  kind('Deployment', 'apps', 'v1', 'deployments', true, object(open({ replicas: I, paused: B }), workloadStatus)),
  kind('ReplicaSet', 'apps', 'v1', 'replicasets', true, object(open({ replicas: I }), workloadStatus)),
  kind('StatefulSet', 'apps', 'v1', 'statefulsets', true, object(open({ replicas: I, serviceName: S }), workloadStatus)),
  kind('DaemonSet', 'apps', 'v1', 'daemonsets', true, object(open(), open({ desiredNumberScheduled: I, numberReady: I, numberAvailable: I, numberUnavailable: I, updatedNumberScheduled: I, conditions: list(condition) }))),
  kind('Job', 'batch', 'v1', 'jobs', true, object(open({ completions: I, parallelism: I, backoffLimit: I, suspend: B }), open({ active: I, succeeded: I, failed: I, conditions: list(condition) }))),
  kind('CronJob', 'batch', 'v1', 'cronjobs', true, object(open({ schedule: S, suspend: B }), open({ lastScheduleTime: S, lastSuccessfulTime: S }))),
  kind('Ingress', 'networking.k8s.io', 'v1', 'ingresses', true, object(open({ ingressClassName: S }), open())),
  kind('Lease', 'coordination.k8s.io', 'v1', 'leases', true, object(open({ holderIdentity: S, leaseDurationSeconds: I, renewTime: S, acquireTime: S, leaseTransitions: I }))),
]);

/** The kind, or undefined when rules may not name it. */
export function kindInfo(name: string): KindInfo | undefined {
  return KINDS.get(name);
}

export function knownKinds(): string[] {
  return [...KINDS.keys()];
}

/** The type one step down: a field of an object or map, or an element of a list (`*`); `dyn` below unknown places. */
export function childType(parent: FieldType, segment: string): FieldType | 'mismatch' | 'unknown-field' {
  switch (parent.t) {
    case 'dyn':
      return D;
    case 'map':
      return segment === '*' ? 'mismatch' : parent.value;
    case 'list':
      return segment === '*' ? parent.element : 'mismatch';
    case 'object': {
      if (segment === '*') return 'mismatch';
      const f = parent.fields[segment];
      if (f) return f;
      return parent.open ? D : 'unknown-field';
    }
    default:
      return 'mismatch';
  }
}

export function typeName(t: FieldType): string {
  switch (t.t) {
    case 'map':
      return `map(string, ${typeName(t.value)})`;
    case 'list':
      return `list(${typeName(t.element)})`;
    case 'object':
      return 'object';
    default:
      return t.t;
  }
}
