/**
 * The contract between the reflectors (collector/engine/kube/) and the rule engine (collector/engine/rules/):
 * what one watched resource type is, and what one change of one object looks like after projection.
 */

/** A watched resource type, e.g. `{ group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true }`. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export type ObjectEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A JSON object as it came off the wire, or a projection of it. */
export type KubeObject = Record<string, unknown>;

/**
 * One change of one object. `object` is projected: only the paths the loaded rules read, plus
 * metadata.{name,namespace,uid,resourceVersion,deletionTimestamp} — never the whole object, so memory stays bounded.
 */
export interface ObjectEvent {
  type: ObjectEventType;
  resource: ResourceType;
  /** `namespace/name`, or `name` for cluster-scoped kinds. */
  key: string;
  uid: string;
  resourceVersion: string;
  object: KubeObject;
}

/** Reduces a full object to what the rules read; built from the loaded rules' field paths. */
export type Projection = (obj: KubeObject) => KubeObject;

/** Where a reflector delivers events. `handle` resolving means the event is fully processed (watermark may pass it). */
export interface ObjectEventSink {
  handle(event: ObjectEvent): Promise<void>;
}

/** `namespace/name` or `name`. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}
