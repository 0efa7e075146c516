import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_KUBE_ACCESS } from '../../../collector/webhook/kube-client.ts';
import { WebhookConfig } from '../../../collector/webhook/webhook-config.ts';
import { kustomize } from './manifest-build.ts';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** One permission: `verb group/resource` (+ `@namespace`, + `#name` when limited to one object). */
type Grant = string;
const grant = (verb: string, group: string, resource: string, ns: string | null, name?: string): Grant => `${verb} ${group || 'core'}/${resource}${ns ? `@${ns}` : ''}${name ? `#${name}` : ''}`;

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cfg = WebhookConfig.parse({});

/**
 * What the collector's code calls. The webhook's calls come from WEBHOOK_KUBE_ACCESS (every request of
 * collector/webhook goes through it); the TokenReview is found in the authenticator's source. The watch engine's
 * reflectors and the leader election are listed by what they watch and lock (collector/engine/kube,
 * ARCHITECTURE.md): read-only list+watch of pods, nodes, services and configmaps, and the collector's Lease.
 */
function codeCalls(): Set<Grant> {
  const calls = new Set<Grant>();
  const byName: Record<string, string | undefined> = {
    getSecret: cfg.tls.secretName, updateSecret: cfg.tls.secretName,
    getWebhookConfiguration: cfg.configurationName, patchWebhookConfiguration: cfg.configurationName,
  };
  for (const [key, a] of Object.entries(WEBHOOK_KUBE_ACCESS)) {
    // A namespaced list of pods in any opted-in namespace needs the cluster-wide grant; secrets live in podpulse's own.
    const ns = a.namespaced && a.resource === 'secrets' ? cfg.namespace : null;
    calls.add(grant(a.verb, a.group, a.resource, ns, byName[key]));
  }
  const auth = readFileSync(`${root}collector/auth/token-review-authenticator.ts`, 'utf8');
  expect(auth).toContain("'/apis/authentication.k8s.io/v1/tokenreviews'");
  expect(auth).toMatch(/method: 'POST'/);
  calls.add(grant('create', 'authentication.k8s.io', 'tokenreviews', null));
  for (const r of ['pods', 'nodes', 'services', 'configmaps']) for (const v of ['list', 'watch']) calls.add(grant(v, '', r, null));
  for (const v of ['list', 'watch']) calls.add(grant(v, 'apps', 'replicasets', null));
  for (const v of ['get', 'create', 'update']) calls.add(grant(v, 'coordination.k8s.io', 'leases', cfg.namespace));
  return calls;
}

/** What the manifests grant the collector's ServiceAccount, flattened to single permissions. */
function granted(): Set<Grant> {
  const objs = kustomize('base');
  const sa = { kind: 'ServiceAccount', name: 'podpulse-collector', namespace: 'podpulse' };
  const out = new Set<Grant>();
  for (const b of objs.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
    const subjects = b.subjects as { kind: string; name: string; namespace: string }[];
    if (!subjects.some((s) => s.kind === sa.kind && s.name === sa.name && s.namespace === sa.namespace)) continue;
    const ref = b.roleRef as { kind: string; name: string };
    const role = objs.find((o) => o.kind === ref.kind && o.metadata.name === ref.name && (ref.kind === 'ClusterRole' || o.metadata.namespace === b.metadata.namespace));
    if (!role) throw new Error(`${b.kind} ${b.metadata.name} refers to a missing ${ref.kind} ${ref.name}`);
    const ns = b.kind === 'RoleBinding' ? b.metadata.namespace! : null;
    for (const r of role.rules as Rule[]) {
      for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) for (const n of r.resourceNames ?? [undefined]) {
        expect(v).not.toBe('*');
        expect(res).not.toBe('*');
        out.add(grant(v, g, res, ns, n));
      }
    }
  }
  return out;
}

describe('RBAC of manifests/base', () => {
  it('grants exactly what the code calls: nothing missing, nothing beyond', () => {
    const calls = [...codeCalls()].sort();
    const grants = [...granted()].sort();
    expect({ missing: calls.filter((c) => !grants.includes(c)), beyond: grants.filter((g) => !calls.includes(g)) }).toEqual({ missing: [], beyond: [] });
  });

  it('never grants writes on pods, secrets cluster-wide, or anything on webhook configurations but its own', () => {
    const grants = [...granted()];
    expect(grants.filter((g) => /^(create|update|patch|delete) core\/pods/.test(g))).toEqual([]);
    expect(grants.filter((g) => g.includes('core/secrets') && !g.includes('@podpulse#podpulse-webhook-tls'))).toEqual([]);
    expect(grants.filter((g) => g.includes('mutatingwebhookconfigurations') && !g.endsWith('#podpulse-injector'))).toEqual([]);
  });
});
