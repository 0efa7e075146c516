import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { RealApiserver } from '../../helpers/real-apiserver.global-setup.ts';

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
  /** `Warning` headers (admission warnings reach the client this way). */
  warnings: string[];
}

/** A cluster-admin client for arranging a test on the real apiserver (the code under test uses its own, least-privileged one). */
export function kubeAdmin(stack: RealApiserver) {
  const ca = readFileSync(stack.caFile, 'utf8');
  const token = readFileSync(stack.tokenFile, 'utf8').trim();
  const call = <T = Record<string, unknown>>(method: string, path: string, body?: unknown, contentType = 'application/json', bearer = token): Promise<ApiAnswer<T>> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request(new URL(path, stack.server), { method, ca, headers: { authorization: `Bearer ${bearer}`, accept: 'application/json', ...(data ? { 'content-type': contentType } : {}) }, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const w = res.headers.warning;
          resolve({ status: res.statusCode!, body: (text ? JSON.parse(text) : {}) as T, warnings: w === undefined ? [] : Array.isArray(w) ? w : [w] });
        });
      });
      req.on('error', reject);
      req.end(data);
    });
  /** Creates, or replaces what exists (kubectl apply without the merge: these objects are the test's own). */
  const apply = async (path: string, obj: { metadata: { name: string; resourceVersion?: string } }): Promise<void> => {
    const c = await call('POST', path, obj);
    if (c.status === 201 || c.status === 200) return;
    if (c.status !== 409) throw new Error(`create ${path} ${obj.metadata.name}: HTTP ${c.status} ${JSON.stringify(c.body).slice(0, 300)}`);
    const cur = await call<{ metadata: { resourceVersion: string } }>('GET', `${path}/${obj.metadata.name}`);
    const r = await call('PUT', `${path}/${obj.metadata.name}`, { ...obj, metadata: { ...obj.metadata, resourceVersion: cur.body.metadata.resourceVersion } });
    if (r.status !== 200) throw new Error(`replace ${path} ${obj.metadata.name}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  };
  return { call, apply, ca, token };
}

/** The REST collection path of a manifest object. */
export function collectionPath(o: { apiVersion: string; kind: string; metadata: { namespace?: string } }): string {
  const plural: Record<string, string> = {
    Namespace: 'namespaces', ServiceAccount: 'serviceaccounts', ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings',
    Role: 'roles', RoleBinding: 'rolebindings', Secret: 'secrets', MutatingWebhookConfiguration: 'mutatingwebhookconfigurations', ConfigMap: 'configmaps',
  };
  const p = plural[o.kind];
  if (!p) throw new Error(`no path for ${o.kind}`);
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  return `${base}${o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : ''}/${p}`;
}
