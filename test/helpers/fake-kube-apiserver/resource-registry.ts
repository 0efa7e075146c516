/** What the fake apiserver knows about one resource: where it lives and how it behaves. */
export interface FakeResource {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /** Has a `/status` subresource: the main resource ignores `status`, the subresource changes only `status`. */
  status: boolean;
}

const RESOURCES: FakeResource[] = [
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, status: true },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true, status: true },
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, status: true },
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false, status: true },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true, status: false },
  { group: '', version: 'v1', plural: 'endpoints', kind: 'Endpoints', namespaced: true, status: false },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, status: false },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true, status: true },
  { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet', namespaced: true, status: true },
  { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true, status: true },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true, status: false },
];

/** `pods`, `leases.coordination.k8s.io`: how tests and the store name a resource. */
export function resourceId(r: { group: string; plural: string }): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

export function findResource(group: string, version: string, plural: string): FakeResource | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function resourceById(id: string): FakeResource {
  const r = RESOURCES.find((x) => resourceId(x) === id);
  if (!r) throw new Error(`fake apiserver: unknown resource ${id}`);
  return r;
}

export function apiVersionOf(r: FakeResource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** A request path split into its parts. */
export interface ParsedPath {
  resource: FakeResource;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * `/api/v1/pods`, `/api/v1/namespaces/ns/pods/name/status`, `/apis/coordination.k8s.io/v1/namespaces/ns/leases/x`,
 * `/api/v1/namespaces/name` (the namespace object itself). Undefined when the path names no known resource.
 */
export function parsePath(pathname: string): ParsedPath | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource] = rest;
  if (!plural || rest.length > 3) return undefined;
  const resource = findResource(group, version, plural);
  if (!resource) return undefined;
  if (namespace !== undefined && !resource.namespaced) return undefined;
  if (name !== undefined && resource.namespaced && namespace === undefined) return undefined;
  return { resource, namespace, name, subresource };
}
