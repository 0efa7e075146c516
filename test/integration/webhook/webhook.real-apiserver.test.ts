import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CollectorConfig } from '../../../collector/config.ts';
import { startCollector, type RunningCollector } from '../../../collector/start-collector.ts';
import { KubeClient } from '../../../collector/webhook/kube-client.ts';
import { MISSING_EVENT_TYPE } from '../../../collector/webhook/missing-event.ts';
import type { MissingReport } from '../../../collector/webhook/missing-report.ts';
import { captureLogs } from '../../helpers/capture-logs.ts';
import { find, kustomize, type KubeObject } from '../../unit/webhook/manifest-build.ts';
import { collectionPath, kubeAdmin } from './kube-admin.ts';

const stack = inject('realApiserver');

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const suffix = Math.random().toString(36).slice(2, 8);
const NS_ON = `pp-inject-${suffix}`;
const NS_OFF = `pp-plain-${suffix}`;
const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';

const pod = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name, labels: { 'app.kubernetes.io/name': name, ...labels } },
  spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9' }] },
});
const names = (p: V1Pod) => ({ containers: p.spec!.containers.map((c) => c.name), init: (p.spec!.initContainers ?? []).map((c) => c.name) });

describe.skipIf(!stack)('injection webhook against a real kube-apiserver v1.20 (PODPULSE_K8S=1)', () => {
  const admin = stack ? kubeAdmin(stack) : undefined!;
  const dir = mkdtempSync(join(tmpdir(), 'podpulse-webhook-k8s-'));
  const base = stack ? kustomize('base') : [];
  let collector: RunningCollector | undefined;
  let saKubeconfig = '';

  const createPod = async (ns: string, p: object) => {
    const r = await admin.call<V1Pod>('POST', `/api/v1/namespaces/${ns}/pods`, p);
    expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(201);
    return r;
  };
  const readPod = async (ns: string, name: string) => (await admin.call<V1Pod>('GET', `/api/v1/namespaces/${ns}/pods/${name}`)).body;

  beforeAll(async () => {
    // The manifests' RBAC, ServiceAccount, empty TLS Secret and webhook configuration, as `kubectl apply -k` would
    // create them (the Deployment is not applied: no kubelet runs here; the collector runs in this process).
    const port = await freePort();
    const want = ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Secret', 'MutatingWebhookConfiguration'];
    for (const o of base.filter((x) => want.includes(x.kind))) {
      const obj = structuredClone(o) as KubeObject & { webhooks?: { clientConfig: Record<string, unknown> }[] };
      // The apiserver reaches the collector on loopback instead of through the Service.
      if (obj.webhooks) for (const w of obj.webhooks) w.clientConfig = { url: `https://127.0.0.1:${port}/admission/mutate` };
      await admin.apply(collectionPath(obj), obj);
    }
    for (const [ns, labels] of [[NS_ON, { 'podpulse.io/inject': 'enabled' }], [NS_OFF, {}]] as const) {
      await admin.apply('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } } as never);
    }
    // The collector's credentials: a TokenRequest for its ServiceAccount, so every call it makes goes through the RBAC above.
    const tr = await admin.call<{ status: { token: string } }>('POST', '/api/v1/namespaces/podpulse/serviceaccounts/podpulse-collector/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
    expect(tr.status).toBe(201);
    saKubeconfig = join(dir, 'kubeconfig');
    writeFileSync(saKubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'sa',
      clusters: [{ name: 'k', cluster: { server: stack!.server, 'certificate-authority-data': Buffer.from(admin.ca).toString('base64') } }],
      users: [{ name: 'sa', user: { token: tr.body.status.token } }],
      contexts: [{ name: 'sa', context: { cluster: 'k', user: 'sa' } }],
    }));
    const daemonYaml = find<{ data: Record<string, string> }>(base, 'ConfigMap', 'podpulse-agent').data['daemon.yaml']!;
    writeFileSync(join(dir, 'daemon.yaml'), daemonYaml);
    writeFileSync(join(dir, 'operators.yaml'), JSON.stringify({ tokens: [{ name: 'viewer', token: VIEWER_TOKEN, role: 'viewer' }] }));
    const config = CollectorConfig.parse({
      listen: { host: '127.0.0.1', port: 0 },
      store: { kind: 'sqlite', path: join(dir, 'podpulse.db') },
      auth: { mode: 'tokenreview', kubeconfig: saKubeconfig },
      operators: { tokensFile: join(dir, 'operators.yaml') },
      webhook: {
        enabled: true,
        listen: { host: '127.0.0.1', port },
        kubeconfig: saKubeconfig,
        tls: { extraNames: ['127.0.0.1'], checkEvery: '1s' },
        injection: { daemonConfigFile: join(dir, 'daemon.yaml') },
      },
      log: { level: 'warn' },
    });
    collector = await startCollector(config, captureLogs('info').log);

    // The collector filled its Secret and patched the caBundle; the apiserver picks the change up shortly after.
    for (let i = 0; ; i++) {
      const probe = await admin.call<V1Pod>('POST', `/api/v1/namespaces/${NS_ON}/pods?dryRun=All`, pod('probe'));
      if (probe.status === 201 && names(probe.body).containers.includes('podpulse-probe')) break;
      if (i > 60) throw new Error(`the webhook never mutated a dry-run pod: ${JSON.stringify(probe.body).slice(0, 300)}`);
      await sleep(500);
    }
  });

  afterAll(async () => {
    await collector?.close();
    if (stack) {
      await admin.call('DELETE', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/podpulse-injector');
      for (const ns of [NS_ON, NS_OFF]) await admin.call('DELETE', `/api/v1/namespaces/${ns}`);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a pod of a labelled namespace with the classic sidecar (v1.20 has no native sidecars)', async () => {
    expect(collector!.webhook!.nativeSupported()).toBe(false);
    const created = await createPod(NS_ON, pod('web'));
    expect(created.warnings).toEqual([]);
    const p = await readPod(NS_ON, 'web');
    expect(names(p)).toEqual({ containers: ['app', 'podpulse-probe'], init: [] });
    expect(p.metadata!.annotations).toMatchObject({ 'podpulse.io/status': 'injected:classic', 'kubectl.kubernetes.io/default-container': 'app' });
    const c = p.spec!.containers[1]!;
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.env!.find((e) => e.name === 'PODPULSE_APP')!.valueFrom!.fieldRef!.fieldPath).toBe("metadata.labels['app.kubernetes.io/name']");
    expect(c.env!.find((e) => e.name === 'PODPULSE_DAEMON_CONFIG')!.value).toContain('dns-lookup');
    const token = p.spec!.volumes!.find((v) => v.name === 'podpulse-token')!;
    expect(token.projected!.sources![0]!.serviceAccountToken).toMatchObject({ audience: 'podpulse', expirationSeconds: 600 });
    expect(p.spec!.volumes!.find((v) => v.name === 'podpulse-state')!.emptyDir!.sizeLimit).toBe('128Mi');
  });

  it('a bad override annotation is ignored and the client sees a warning naming it', async () => {
    const bad = pod('tuned');
    (bad.metadata as Record<string, unknown>).annotations = { 'podpulse.io/memory': 'lots', 'podpulse.io/cpu': '25m' };
    const created = await createPod(NS_ON, bad);
    expect(created.warnings.join('\n')).toMatch(/podpulse\.io\/memory=\\?"lots\\?" ignored/);
    const c = (await readPod(NS_ON, 'tuned')).spec!.containers.find((x) => x.name === 'podpulse-probe')!;
    expect(c.resources!.requests).toEqual({ cpu: '25m', memory: '64Mi' });
  });

  it('leaves pods of an unlabelled namespace and opted-out pods untouched', async () => {
    await createPod(NS_OFF, pod('plain'));
    expect(names(await readPod(NS_OFF, 'plain'))).toEqual({ containers: ['app'], init: [] });
    await createPod(NS_ON, pod('optout', { 'podpulse.io/inject': 'disabled' }));
    expect(names(await readPod(NS_ON, 'optout'))).toEqual({ containers: ['app'], init: [] });
  });

  it('reports pods of opted-in namespaces that lack the sidecar, in the API and as an event', async () => {
    // A namespace labelled after its pod was created: the pod never went through the webhook.
    const late = `pp-late-${suffix}`;
    await admin.apply('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: late } } as never);
    await createPod(late, pod('early'));
    await admin.call('PATCH', `/api/v1/namespaces/${late}`, { metadata: { labels: { 'podpulse.io/inject': 'enabled' } } }, 'application/merge-patch+json');
    try {
      const res = await fetch(`${collector!.url}/api/v1/injection/missing`, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
      expect(res.status).toBe(200);
      const report = (await res.json()) as MissingReport;
      expect(report.namespaces).toEqual(expect.arrayContaining([NS_ON, late]));
      expect(report.missing.map((m) => `${m.namespace}/${m.name}`)).toContain(`${late}/early`);
      expect(report.missing.map((m) => m.namespace)).not.toContain(NS_OFF);
      expect(report.missing.map((m) => m.name)).not.toContain('web');
      expect(report.missing.map((m) => m.name)).not.toContain('optout');
      const events = (await collector!.store.listEvents({ type: MISSING_EVENT_TYPE })).items;
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ status: 'firing', severity: 'warning' });
      expect(JSON.stringify(events[0]!.body)).toContain(`${late}/early`);
      expect((await fetch(`${collector!.url}/api/v1/injection/missing`)).status).toBe(401);
    } finally {
      await admin.call('DELETE', `/api/v1/namespaces/${late}`);
    }
  });

  it('the collector\'s ServiceAccount can do what the code needs and nothing more', async () => {
    const sa = await KubeClient.fromKubeconfig(saKubeconfig);
    try {
      const other = await sa.call({ verb: 'get', group: '', version: 'v1', resource: 'secrets', namespaced: true }, { namespace: 'podpulse', name: 'some-other-secret' });
      expect(other.status).toBe(403);
      const write = await sa.call({ verb: 'create', group: '', version: 'v1', resource: 'pods', namespaced: true }, { namespace: NS_ON, body: pod('nope') });
      expect(write.status).toBe(403);
    } finally {
      sa.close();
    }
    // What it did under that token: filled its Secret and patched its webhook's caBundle.
    const secret = await admin.call<{ data: Record<string, string> }>('GET', '/api/v1/namespaces/podpulse/secrets/podpulse-webhook-tls');
    expect(Object.keys(secret.body.data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    const hook = await admin.call<{ webhooks: { clientConfig: { caBundle: string } }[] }>('GET', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/podpulse-injector');
    expect(hook.body.webhooks[0]!.clientConfig.caBundle).toBe(secret.body.data['ca.crt']);
  });

  it('with the collector stopped, pods are still created (failurePolicy Ignore), without the sidecar', async () => {
    await collector!.close();
    collector = undefined;
    const started = Date.now();
    await createPod(NS_ON, pod('while-down'));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(names(await readPod(NS_ON, 'while-down'))).toEqual({ containers: ['app'], init: [] });
  });
});
