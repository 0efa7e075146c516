import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createMutateHandler, type MutateAnswer } from '../../../collector/webhook/mutate-handler.ts';
import type { InjectionContext } from '../../../collector/webhook/inject-pod.ts';
import type { AdmissionResponse } from '../../../collector/webhook/admission-review.ts';
import { captureLogs } from '../../helpers/capture-logs.ts';
import { applied, injection, patchOf, review, validatePod, type Review } from './admission-fixtures.ts';

const DAEMON_YAML = 'release:\n  publicKeys: []\ncommands:\n  allowlist: []\n';

function handler(ctx: Partial<InjectionContext> = {}, throwing = false) {
  const injected: { namespace: string; name: string; mode: string }[] = [];
  const { log } = captureLogs();
  const context = (): InjectionContext => {
    if (throwing) throw new Error('boom');
    return { config: injection(), ownNamespace: 'podpulse', nativeSupported: false, daemonConfig: DAEMON_YAML, ...ctx };
  };
  const mutate = createMutateHandler({ context, log, onInjected: (p) => injected.push(p) });
  return { mutate, injected };
}

const ok = (a: MutateAnswer): AdmissionResponse => {
  if (a.status !== 200) throw new Error(`expected 200, got 400: ${JSON.stringify(a.violations)}`);
  return a.body;
};

/** Runs a review, applies its patch, and checks the result is a valid pod; returns both. */
function mutateAndApply(mutate: (b: unknown) => MutateAnswer, r: Review) {
  const answer = ok(mutate(r));
  expect(answer.response.uid).toBe(r.request.uid);
  expect(answer.response.allowed).toBe(true);
  const ops = patchOf(answer);
  const pod = applied(r.request.object, ops);
  validatePod(pod);
  return { answer, ops, pod };
}

const sidecarOf = (pod: V1Pod): V1Container | undefined => [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === 'podpulse-probe');
const envOf = (c: V1Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));

describe('mutating webhook on AdmissionReviews recorded from kube-apiserver v1.20', () => {
  it('injects a classic sidecar once; the patch applies cleanly, the pod validates, and a second pass is a no-op', () => {
    const { mutate, injected } = handler();
    const r = review('plain');
    const { answer, pod } = mutateAndApply(mutate, r);
    expect(answer.response.patchType).toBe('JSONPatch');
    expect(pod.spec!.containers.map((c) => c.name)).toEqual(['web', 'podpulse-probe']);
    expect(pod.spec!.initContainers).toBeUndefined();
    expect(pod.metadata!.annotations).toMatchObject({ 'podpulse.io/status': 'injected:classic', 'kubectl.kubernetes.io/default-container': 'web' });
    expect(injected).toEqual([{ namespace: r.request.namespace, name: 'web', mode: 'classic' }]);

    const again = structuredClone(r);
    again.request.object = pod;
    const second = ok(mutate(again));
    expect(second.response.patch).toBeUndefined();
    expect(injected).toHaveLength(1);
    // A copy of an injected spec without the annotation is recognised by the container name.
    delete pod.metadata!.annotations!['podpulse.io/status'];
    expect(ok(mutate(again)).response.patch).toBeUndefined();
  });

  it('the pod schema check catches a broken pod (so passing it means something)', () => {
    const { pod } = mutateAndApply(handler().mutate, review('plain'));
    sidecarOf(pod)!.resources!.limits!.cpu = 'two cores';
    expect(() => validatePod(pod)).toThrow(/limits\/cpu/);
    const misspelt = mutateAndApply(handler().mutate, review('plain')).pod;
    (sidecarOf(misspelt)! as unknown as Record<string, unknown>).volumeMount = [];
    expect(() => validatePod(misspelt)).toThrow(/unknown fields in the pod: spec\.(initContainers|containers)\[\d+\]\.volumeMount/);
  });

  it('gives the sidecar downward-API identity, the token, the state emptyDir and a locked-down security context, and no readiness or startup probe', () => {
    const { pod } = mutateAndApply(handler().mutate, review('plain'));
    const c = sidecarOf(pod)!;
    expect(envOf(c)).toMatchObject({
      POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace', POD_UID: 'metadata.uid', NODE_NAME: 'spec.nodeName', POD_IP: 'status.podIP',
      PODPULSE_APP: "metadata.labels['app.kubernetes.io/name']", PODPULSE_TENANT: "metadata.labels['podpulse.io/tenant']",
      PODPULSE_COLLECTOR_URL: 'http://podpulse-collector.podpulse.svc:8080', PODPULSE_TOKEN_FILE: '/var/run/secrets/podpulse/token',
      PODPULSE_STATE_DIR: '/var/lib/podpulse', PODPULSE_DAEMON_CONFIG: DAEMON_YAML,
    });
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(c.readinessProbe).toBeUndefined();
    expect(c.startupProbe).toBeUndefined();
    expect(c.resources).toEqual({ requests: { cpu: '10m', memory: '64Mi' }, limits: { cpu: '200m', memory: '256Mi' } });
    const vols = Object.fromEntries(pod.spec!.volumes!.map((v) => [v.name, v]));
    expect(vols['podpulse-state']!.emptyDir).toEqual({ sizeLimit: '128Mi' });
    expect(vols['podpulse-token']!.projected!.sources![0]!.serviceAccountToken).toEqual({ audience: 'podpulse', expirationSeconds: 600, path: 'token' });
    expect(pod.spec!.shareProcessNamespace).toBeUndefined();
  });

  it('uses the native form (last init container, restartPolicy Always) when the cluster supports it, keeping the pod\'s own init containers first', () => {
    const { pod } = mutateAndApply(handler({ nativeSupported: true }).mutate, review('from-replicaset'));
    expect(pod.spec!.initContainers!.map((c) => [c.name, c.restartPolicy])).toEqual([['migrate', undefined], ['podpulse-probe', 'Always']]);
    expect(pod.spec!.containers.map((c) => c.name)).toEqual(['api']);
    expect(pod.spec!.volumes!.map((v) => v.name)).toEqual(['cache', 'podpulse-state', 'podpulse-token']);
    expect(pod.metadata!.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'podpulse.io/status': 'injected:native' });
    expect(pod.metadata!.annotations!['kubectl.kubernetes.io/default-container']).toBeUndefined();
    // No app.kubernetes.io/name here: the next configured label (app) names the app; no tenant label, no tenant env.
    expect(envOf(sidecarOf(pod)!)).toMatchObject({ PODPULSE_APP: "metadata.labels['app']" });
    expect(envOf(sidecarOf(pod)!).PODPULSE_TENANT).toBeUndefined();
  });

  it('leaves a run-to-completion pod alone in classic mode (the sidecar would keep it from completing) but injects it natively', () => {
    const r = review('plain');
    r.request.object.spec!.restartPolicy = 'OnFailure';
    const a = ok(handler().mutate(r));
    expect(a.response.patch).toBeUndefined();
    expect(a.response.warnings![0]).toMatch(/restartPolicy OnFailure pod from completing/);
    const { pod } = mutateAndApply(handler({ nativeSupported: true }).mutate, r);
    expect(sidecarOf(pod)!.restartPolicy).toBe('Always');
  });

  it('config sidecarMode overrides the detection both ways', () => {
    const native = mutateAndApply(handler({ config: injection({ sidecarMode: 'native' }) }).mutate, review('plain')).pod;
    expect(sidecarOf(native)!.restartPolicy).toBe('Always');
    const classic = mutateAndApply(handler({ nativeSupported: true, config: injection({ sidecarMode: 'classic' }) }).mutate, review('plain')).pod;
    expect(classic.spec!.containers.map((c) => c.name)).toContain('podpulse-probe');
  });

  it('applies per-pod overrides and ignores a bad one with a warning naming the annotation', () => {
    const { answer, pod } = mutateAndApply(handler().mutate, review('overrides'));
    const c = sidecarOf(pod)!;
    // podpulse.io/sidecar-mode: native wins over the classic cluster.
    expect(c.restartPolicy).toBe('Always');
    expect(pod.spec!.initContainers!.map((x) => x.name)).toEqual(['podpulse-probe']);
    expect(c.resources).toEqual({ requests: { cpu: '50m', memory: '96Mi' }, limits: { cpu: '200m', memory: '256Mi' } });
    expect(pod.spec!.volumes!.find((v) => v.name === 'podpulse-state')!.emptyDir).toEqual({ sizeLimit: '256Mi' });
    expect(pod.spec!.shareProcessNamespace).toBe(true);
    expect(answer.response.warnings).toHaveLength(1);
    expect(answer.response.warnings![0]).toMatch(/podpulse\.io\/memory-limit="banana" ignored/);
  });

  it('raises the limit to a request above it instead of producing a pod the apiserver rejects', () => {
    const r = review('plain');
    r.request.object.metadata!.annotations = { 'podpulse.io/memory': '512Mi', 'podpulse.io/cpu': '-1', 'podpulse.io/cpu-limit': '64' };
    const { answer, pod } = mutateAndApply(handler().mutate, r);
    expect(sidecarOf(pod)!.resources).toEqual({ requests: { cpu: '10m', memory: '512Mi' }, limits: { cpu: '200m', memory: '512Mi' } });
    const w = answer.response.warnings!.join('\n');
    expect(w).toMatch(/podpulse\.io\/cpu="-1" ignored: must be positive/);
    expect(w).toMatch(/podpulse\.io\/cpu-limit="64" ignored: larger than/);
    expect(w).toMatch(/memory request 512Mi is above the limit 256Mi/);
  });

  it('respects the opt-out label, even when the apiserver sends the pod anyway', () => {
    const { mutate, injected } = handler();
    const answer = ok(mutate(review('opted-out')));
    expect(answer.response).toEqual({ uid: review('opted-out').request.uid, allowed: true });
    expect(injected).toEqual([]);
  });

  it('never injects kube-system or podpulse\'s own namespace', () => {
    for (const ns of ['kube-system', 'podpulse']) {
      const r = review('plain');
      r.request.namespace = ns;
      expect(ok(handler().mutate(r)).response.patch).toBeUndefined();
    }
  });

  it('dryRun gets the same patch but records nothing', () => {
    const { mutate, injected } = handler();
    const r = review('dry-run');
    expect(r.request.dryRun).toBe(true);
    const { ops } = mutateAndApply(mutate, r);
    expect(ops.length).toBeGreaterThan(0);
    expect(injected).toEqual([]);
  });

  it('answers anything but a pod CREATE unchanged', () => {
    const r = review('plain');
    r.request.operation = 'UPDATE';
    expect(ok(handler().mutate(r)).response.patch).toBeUndefined();
    const sub = review('plain');
    (sub.request as Record<string, unknown>).subResource = 'status';
    expect(ok(handler().mutate(sub)).response.patch).toBeUndefined();
  });

  it('leaves a pod that already uses one of the sidecar\'s volume names alone, with a warning', () => {
    const r = review('from-replicaset');
    r.request.object.spec!.volumes!.push({ name: 'podpulse-state', emptyDir: {} });
    const a = ok(handler().mutate(r));
    expect(a.response.patch).toBeUndefined();
    expect(a.response.warnings).toEqual(['podpulse: not injected: the pod already has a volume named podpulse-state']);
  });

  it('admits the pod unchanged with a warning on an internal error', () => {
    const a = ok(handler({}, true).mutate(review('plain')));
    expect(a.response.allowed).toBe(true);
    expect(a.response.patch).toBeUndefined();
    expect(a.response.warnings![0]).toMatch(/not injected \(internal error: boom\)/);
  });

  it('answers 400 naming the fields of a malformed AdmissionReview, never throwing', () => {
    const { mutate } = handler();
    for (const body of [undefined, null, 'text', 42, [], {}, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }]) {
      const a = mutate(body);
      expect(a.status).toBe(400);
    }
    const noUid = review('plain') as unknown as { request: Record<string, unknown> };
    delete noUid.request.uid;
    const a = mutate(noUid);
    expect(a.status === 400 && a.violations.map((v) => v.path)).toEqual(['request.uid']);
    const badOp = review('plain') as unknown as { request: Record<string, unknown> };
    badOp.request.operation = 'EXPLODE';
    const b = mutate(badOp);
    expect(b.status === 400 && b.violations.map((v) => v.path)).toEqual(['request.operation']);
  });
});
