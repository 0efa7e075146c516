import type { ResourceType } from './object-event.ts';

/** The collection URL path of a resource type, across all namespaces or in one. */
export function collectionPath(r: ResourceType, namespace?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${r.plural}`;
}

/** The URL path of one object (optionally a subresource such as `status`). */
export function objectPath(r: ResourceType, namespace: string | undefined, name: string, subresource?: string): string {
  return `${collectionPath(r, namespace)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
}

/** `pods`, `leases.coordination.k8s.io`: a short stable name for logs, metrics and watermark keys. */
export function resourceName(r: ResourceType): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}
