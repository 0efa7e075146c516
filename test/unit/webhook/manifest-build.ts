import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const MANIFESTS = fileURLToPath(new URL('../../../manifests/', import.meta.url));
export const OVERLAYS = ['dev', 'prod', 'example-app', 'cert-manager'] as const;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

/**
 * Builds a kustomization with the real kustomize (`kubectl kustomize`, kustomize v5 inside kubectl; the machine
 * image ships kubectl). Throws with kustomize's own message when the build fails.
 */
export function kustomize(dir: string): KubeObject[] {
  let out: string;
  try {
    out = execFileSync('kubectl', ['kustomize', `${MANIFESTS}${dir}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('kubectl is not installed: the manifests are built with `kubectl kustomize` (any kubectl >= 1.27)', { cause: err });
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
  return parseAllDocuments(out).map((d) => d.toJSON() as KubeObject).filter(Boolean);
}

/** The object of that kind and name, seen as `T` (a client-node type or the shape a test reads). */
export function find<T = KubeObject>(objs: readonly KubeObject[], kind: string, name: string): T {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in the build`);
  return o as unknown as T;
}
