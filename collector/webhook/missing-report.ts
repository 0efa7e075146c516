import type { V1Pod } from '@kubernetes/client-node';
import { apiError, type KubeClient, WEBHOOK_KUBE_ACCESS } from './kube-client.ts';
import { ALWAYS_EXCLUDED_NAMESPACES } from './inject-pod.ts';
import { ANNOTATIONS, INJECT_LABEL } from './pod-overrides.ts';

export interface MissingPod {
  namespace: string;
  name: string;
  uid: string;
  createdAt: string | null;
}

export interface MissingReport {
  checkedAt: string;
  /** Opted-in namespaces looked at. */
  namespaces: string[];
  /** Pods there without the sidecar (created while the webhook was down or unreachable), oldest first. */
  missing: MissingPod[];
  /** Pods looked at. */
  checked: number;
}

interface List<T> {
  items?: T[];
  metadata?: { continue?: string };
}

const PAGE = '500';

async function listAll<T>(kube: KubeClient, access: typeof WEBHOOK_KUBE_ACCESS.listPods | typeof WEBHOOK_KUBE_ACCESS.listNamespaces, namespace: string | undefined, labelSelector: string): Promise<T[]> {
  const out: T[] = [];
  let cont: string | undefined;
  do {
    const r = await kube.call<List<T>>(access, { ...(namespace !== undefined ? { namespace } : {}), query: { labelSelector, limit: PAGE, ...(cont ? { continue: cont } : {}) } });
    if (r.status !== 200) throw apiError(`list ${access.resource}${namespace ? ` in ${namespace}` : ''}`, r);
    out.push(...(r.body.items ?? []));
    cont = r.body.metadata?.continue || undefined;
  } while (cont);
  return out;
}

/** Whether a pod carries the probe (the same test the webhook uses to stay idempotent). */
export function hasSidecar(pod: V1Pod, containerName: string): boolean {
  if (pod.metadata?.annotations?.[ANNOTATIONS.status] !== undefined) return true;
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some((c) => c.name === containerName);
}

/**
 * Lists the pods of opted-in namespaces that lack the sidecar: pods the webhook would have injected (not opted
 * out, not finished, not mirror pods) but did not, because it was down or unreachable when they were created
 * (failurePolicy Ignore admits them). A plain LIST: it runs every few minutes, not per event.
 */
export async function findPodsMissingSidecar(kube: KubeClient, o: { ownNamespace: string; containerName: string; now?: number }): Promise<MissingReport> {
  const nss = await listAll<{ metadata?: { name?: string } }>(kube, WEBHOOK_KUBE_ACCESS.listNamespaces, undefined, `${INJECT_LABEL}=enabled`);
  const namespaces = nss.map((n) => n.metadata?.name ?? '').filter((n) => n && n !== o.ownNamespace && !(ALWAYS_EXCLUDED_NAMESPACES as readonly string[]).includes(n)).sort();
  const missing: MissingPod[] = [];
  let checked = 0;
  for (const ns of namespaces) {
    const pods = await listAll<V1Pod>(kube, WEBHOOK_KUBE_ACCESS.listPods, ns, `${INJECT_LABEL}!=disabled`);
    for (const p of pods) {
      const phase = p.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed' || p.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined) continue;
      checked++;
      if (hasSidecar(p, o.containerName)) continue;
      const ts = p.metadata?.creationTimestamp as unknown;
      missing.push({ namespace: ns, name: p.metadata?.name ?? '', uid: p.metadata?.uid ?? '', createdAt: ts instanceof Date ? ts.toISOString() : typeof ts === 'string' ? ts : null });
    }
  }
  missing.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return { checkedAt: new Date(o.now ?? Date.now()).toISOString(), namespaces, missing, checked };
}
