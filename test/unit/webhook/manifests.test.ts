import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { V1ConfigMap, V1Deployment, V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { CollectorConfig } from '../../../collector/config.ts';
import { rulesFromConfigMap } from '../../../collector/engine/rules/rule-registry.ts';
import { CommandTemplatesFile } from '../../../collector/control/commands/command-templates.ts';
import { DaemonConfig } from '../../../daemon/config.ts';
import { find, kustomize, OVERLAYS, type KubeObject } from './manifest-build.ts';
import { modelName, unknownFields } from './unknown-fields.ts';

type Validator = new (data: never) => { validate(): void };

/** The kubernetes-models class for an object (OpenAPI schemas of a current Kubernetes release), or undefined. */
async function modelFor(o: KubeObject): Promise<Validator | undefined> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const path = group === '' ? `kubernetes-models/${version}/${o.kind}` : group === 'cert-manager.io' ? `@kubernetes-models/cert-manager/${group}/${version}/${o.kind}` : `kubernetes-models/${group}/${version}/${o.kind}`;
  try {
    const mod = (await import(path)) as Record<string, Validator>;
    return mod[o.kind];
  } catch {
    return undefined;
  }
}

const builds = Object.fromEntries(OVERLAYS.map((o) => [o, kustomize(`overlays/${o}`)])) as Record<(typeof OVERLAYS)[number], KubeObject[]>;
const base = kustomize('base');

describe('manifests', () => {
  it.each([...OVERLAYS, 'base'])('%s builds and every object validates against the Kubernetes schema', async (name) => {
    const objs = name === 'base' ? base : builds[name as (typeof OVERLAYS)[number]];
    expect(objs.length).toBeGreaterThan(0);
    for (const o of objs) {
      const Model = await modelFor(o);
      if (!Model) throw new Error(`no schema for ${o.apiVersion} ${o.kind} (${o.metadata.name})`);
      try {
        new Model(o as never).validate();
      } catch (err) {
        throw new Error(`${o.kind} ${o.metadata.name} in ${name}: ${(err as Error).message}`, { cause: err });
      }
      // The schemas allow extra properties; a misspelt field would pass them and be dropped by the apiserver.
      const model = modelName(o.apiVersion, o.kind);
      if (model) expect(unknownFields(o, model), `${o.kind} ${o.metadata.name} in ${name}`).toEqual([]);
      else expect(o.apiVersion, `${o.kind} ${o.metadata.name}: only cert-manager objects lack a built-in model`).toMatch(/^cert-manager\.io\//);
    }
  });

  it('the schema check rejects a broken object (so passing it means something)', async () => {
    const dep = structuredClone(find<{ spec: { replicas: unknown } }>(base, 'Deployment', 'podpulse-collector'));
    dep.spec.replicas = 'two';
    const Model = (await modelFor(dep as unknown as KubeObject))!;
    expect(() => new Model(dep as never).validate()).toThrow(/replicas/);
  });

  it('the unknown-field check catches a misspelt field (so passing it means something)', () => {
    const dep = structuredClone(find<{ spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } }>(base, 'Deployment', 'podpulse-collector'));
    const c = dep.spec.template.spec.containers[0]!;
    c.resource = c.resources;
    delete c.resources;
    (c.securityContext as Record<string, unknown>).readOnlyRootFilesytem = true;
    expect(unknownFields(dep, modelName('apps/v1', 'Deployment')!)).toEqual([
      'spec.template.spec.containers[0].securityContext.readOnlyRootFilesytem',
      'spec.template.spec.containers[0].resource',
    ]);
  });

  it('the webhook never blocks a pod and selects as documented', () => {
    const w = find<V1MutatingWebhookConfiguration>(base, 'MutatingWebhookConfiguration', 'podpulse-injector');
    expect(w.webhooks).toHaveLength(1);
    const h = w.webhooks![0]!;
    expect(h.failurePolicy).toBe('Ignore');
    expect(h.sideEffects).toBe('None');
    expect(h.timeoutSeconds).toBeLessThanOrEqual(5);
    expect(h.rules).toEqual([{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
    expect(h.namespaceSelector!.matchExpressions).toEqual(expect.arrayContaining([
      { key: 'podpulse.io/inject', operator: 'In', values: ['enabled'] },
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'podpulse'] },
    ]));
    expect(h.objectSelector!.matchExpressions).toEqual([{ key: 'podpulse.io/inject', operator: 'NotIn', values: ['disabled'] }]);
    expect(h.clientConfig.service).toMatchObject({ name: 'podpulse-collector', namespace: 'podpulse', path: '/admission/mutate', port: 443 });
  });

  it('the collector config, the sidecar config and the command templates in the ConfigMaps are valid and their files are mounted', () => {
    const data = (name: string, key: string) => find<V1ConfigMap>(base, 'ConfigMap', name).data![key]!;
    const collector = CollectorConfig.parse(parseYaml(data('podpulse-collector', 'collector.yaml')));
    expect(collector.webhook.enabled).toBe(true);
    // The engine runs, with the rules of the podpulse-rules ConfigMap: the two seed rules, verbatim (test/unit/engine/seed-rules
    // holds them byte for byte as shipped in the design's seed-rules), all accepted.
    expect(collector.engine).toMatchObject({ enabled: true, rulesConfigMap: { namespace: 'podpulse', name: 'podpulse-rules' } });
    const rulesData = find<V1ConfigMap>(base, 'ConfigMap', 'podpulse-rules').data!;
    for (const name of ['PodSidecarNotReady', 'ServiceDeleting']) {
      expect(JSON.parse(rulesData[`${name}.json`]!)).toEqual(JSON.parse(readFileSync(fileURLToPath(new URL(`../engine/seed-rules/${name}.json`, import.meta.url)), 'utf8')));
    }
    const loaded = rulesFromConfigMap(rulesData);
    expect(loaded.refused).toEqual([]);
    expect(loaded.rules.map((r) => r.name).sort()).toEqual(['PodSidecarNotReady', 'ServiceDeleting']);
    const daemonDoc = parseYaml(data('podpulse-agent', 'daemon.yaml')) as object;
    const daemon = DaemonConfig.parse({ ...daemonDoc, collector: { url: collector.webhook.injection.collectorUrl } });
    expect(daemon.commands.allowlist.map((t) => t.name)).toEqual(['dns-lookup', 'http-head', 'processes', 'sockets', 'routes', 'addresses']);
    const templates = CommandTemplatesFile.parse(parseYaml(data('podpulse-command-templates', 'templates.yaml')));
    expect(templates.templates.map((t) => t.name)).toEqual(daemon.commands.allowlist.map((t) => t.name));

    const dep = find<V1Deployment>(base, 'Deployment', 'podpulse-collector');
    const pod = dep.spec!.template.spec!;
    const c = pod.containers[0]!;
    const mountOf = (file: string) => {
      const m = c.volumeMounts!.find((vm) => file.startsWith(`${vm.mountPath}/`));
      const v = m && pod.volumes!.find((x) => x.name === m.name);
      return v?.configMap ? { configMap: v.configMap.name, key: file.slice(m!.mountPath.length + 1) } : undefined;
    };
    expect(mountOf(c.args![c.args!.indexOf('--config') + 1]!)).toEqual({ configMap: 'podpulse-collector', key: 'collector.yaml' });
    expect(mountOf(collector.webhook.injection.daemonConfigFile!)).toEqual({ configMap: 'podpulse-agent', key: 'daemon.yaml' });
    expect(mountOf(collector.commands.templatesFile!)).toEqual({ configMap: 'podpulse-command-templates', key: 'templates.yaml' });
    expect(collector.store.path.startsWith(`${c.volumeMounts!.find((m) => m.name === 'data')!.mountPath}/`)).toBe(true);
  });

  it('the collector runs non-root on a read-only root filesystem with probes, resources and anti-affinity, covered by a PodDisruptionBudget', () => {
    const dep = find<V1Deployment>(base, 'Deployment', 'podpulse-collector');
    const pod = dep.spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(c.resources?.requests).toBeDefined();
    expect(pod.affinity?.podAntiAffinity).toBeDefined();
    expect(pod.serviceAccountName).toBe('podpulse-collector');
    const pdb = find<{ spec: { selector: { matchLabels: Record<string, string> } } }>(base, 'PodDisruptionBudget', 'podpulse-collector');
    expect(pdb.spec.selector.matchLabels).toEqual(dep.spec!.selector.matchLabels);
  });

  it('dev runs one replica on SQLite with a PVC; prod runs 2+ replicas on PostgreSQL from a Secret', () => {
    const dev = find<V1Deployment>(builds.dev, 'Deployment', 'podpulse-collector');
    expect(dev.spec!.replicas).toBe(1);
    expect(dev.spec!.template.spec!.volumes!.find((v) => v.name === 'data')).toEqual({ name: 'data', persistentVolumeClaim: { claimName: 'podpulse-data' } });
    find(builds.dev, 'PersistentVolumeClaim', 'podpulse-data');
    const prod = find<V1Deployment>(builds.prod, 'Deployment', 'podpulse-collector');
    expect(prod.spec!.replicas).toBeGreaterThanOrEqual(2);
    const env = Object.fromEntries(prod.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e]));
    expect(env.PODPULSE_STORE_KIND!.value).toBe('postgres');
    expect(env.PODPULSE_STORE_URL!.valueFrom?.secretKeyRef).toEqual({ name: 'podpulse-postgres', key: 'url' });
  });

  it('example-app is a namespace labelled for injection with a small app', () => {
    const ns = find(builds['example-app'], 'Namespace', 'podpulse-example');
    expect(ns.metadata.labels).toMatchObject({ 'podpulse.io/inject': 'enabled' });
    const app = find<V1Deployment>(builds['example-app'], 'Deployment', 'hello');
    expect(app.metadata!.namespace).toBe('podpulse-example');
  });

  it('cert-manager mode: the certificate covers the Service, its CA is injected into the webhook, and the collector reads the files', () => {
    const objs = builds['cert-manager'];
    const cert = find<{ spec: { secretName: string; dnsNames: string[] } }>(objs, 'Certificate', 'podpulse-webhook');
    expect(cert.spec.dnsNames).toContain('podpulse-collector.podpulse.svc');
    const w = find(objs, 'MutatingWebhookConfiguration', 'podpulse-injector');
    expect(w.metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': 'podpulse/podpulse-webhook' });
    const dep = find<V1Deployment>(objs, 'Deployment', 'podpulse-collector');
    const pod = dep.spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(c.env).toEqual(expect.arrayContaining([{ name: 'PODPULSE_WEBHOOK_TLS_MODE', value: 'files' }]));
    const collector = CollectorConfig.parse({ webhook: { tls: { mode: 'files' } } });
    const mount = c.volumeMounts!.find((m) => collector.webhook.tls.certFile.startsWith(`${m.mountPath}/`))!;
    expect(pod.volumes!.find((v) => v.name === mount.name)!.secret!.secretName).toBe(cert.spec.secretName);
    expect(collector.webhook.tls.keyFile.startsWith(`${mount.mountPath}/`)).toBe(true);
  });
});
