import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATIONS, INJECT_LABEL, podOverrides } from './pod-overrides.ts';
import { SIDECAR_VOLUMES, sidecarContainer, sidecarVolumes } from './sidecar-spec.ts';
import type { InjectionConfig } from './webhook-config.ts';

/** One RFC 6902 operation; the webhook only ever adds. */
export interface PatchOp {
  op: 'add';
  path: string;
  value: unknown;
}

/** Namespaces never injected whatever their labels say (also excluded by the webhook's namespaceSelector). */
export const ALWAYS_EXCLUDED_NAMESPACES = ['kube-system'] as const;

export interface InjectionContext {
  config: InjectionConfig;
  /** podpulse's own namespace. */
  ownNamespace: string;
  /** Whether the cluster runs native sidecars (Kubernetes ≥ 1.29), for sidecarMode auto. */
  nativeSupported: boolean;
  daemonConfig: string | undefined;
}

export type InjectionResult =
  | { injected: false; reason: string; warnings: string[] }
  | { injected: true; mode: 'native' | 'classic'; patch: PatchOp[]; warnings: string[] };

/** RFC 6901: `~` and `/` in a key (annotation names have slashes). */
const esc = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * What to change in a pod so it carries the probe, as JSONPatch `add` operations against the pod as submitted.
 * Pure: the same pod and context always give the same patch. A pod that already has the sidecar (status
 * annotation or container name: a reinvocation, or a pod spec copied from an injected one) gets no patch.
 */
export function injectPod(pod: V1Pod, namespace: string, ctx: InjectionContext): InjectionResult {
  const cfg = ctx.config;
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  const skip = (reason: string, warnings: string[] = []): InjectionResult => ({ injected: false, reason, warnings });
  if ((ALWAYS_EXCLUDED_NAMESPACES as readonly string[]).includes(namespace) || namespace === ctx.ownNamespace) return skip(`namespace ${namespace} is never injected`);
  if (labels[INJECT_LABEL] === 'disabled') return skip(`pod opted out with ${INJECT_LABEL}=disabled`);
  if (annotations['kubernetes.io/config.mirror'] !== undefined) return skip('mirror pod (static pod of a kubelet)');
  const spec = pod.spec;
  if (!spec || !Array.isArray(spec.containers) || spec.containers.length === 0) return skip('pod has no containers');
  const initContainers = spec.initContainers ?? [];
  if (annotations[ANNOTATIONS.status] !== undefined || [...spec.containers, ...initContainers].some((c) => c.name === cfg.containerName)) {
    return skip('already injected');
  }
  const taken = new Set((spec.volumes ?? []).map((v) => v.name));
  const clash = Object.values(SIDECAR_VOLUMES).find((v) => taken.has(v));
  if (clash) return skip(`pod already has a volume named ${clash}`, [`podpulse: not injected: the pod already has a volume named ${clash}`]);

  const o = podOverrides(annotations, cfg);
  const mode = o.mode ?? (cfg.sidecarMode === 'auto' ? (ctx.nativeSupported ? 'native' : 'classic') : cfg.sidecarMode);
  // A classic sidecar never exits, so a run-to-completion pod (a Job's) would never complete; only the native form,
  // which the kubelet stops when the app containers are done, suits those.
  if (mode === 'classic' && spec.restartPolicy !== undefined && spec.restartPolicy !== 'Always') {
    return skip(`run-to-completion pod (restartPolicy ${spec.restartPolicy}) needs a native sidecar`, [...o.warnings, `podpulse: not injected: a classic sidecar would keep this restartPolicy ${spec.restartPolicy} pod from completing; native sidecars need Kubernetes 1.29 or later`]);
  }
  const container = sidecarContainer({ config: cfg, labels, resources: o.resources, restartPolicyAlways: mode === 'native', daemonConfig: ctx.daemonConfig });
  const patch: PatchOp[] = [];
  if (mode === 'native') {
    patch.push(spec.initContainers ? { op: 'add', path: '/spec/initContainers/-', value: container } : { op: 'add', path: '/spec/initContainers', value: [container] });
  } else {
    patch.push({ op: 'add', path: '/spec/containers/-', value: container });
  }
  const volumes = sidecarVolumes(cfg, o.stateSizeLimit);
  if (spec.volumes) for (const v of volumes) patch.push({ op: 'add', path: '/spec/volumes/-', value: v });
  else patch.push({ op: 'add', path: '/spec/volumes', value: volumes });
  // A projected token needs a named ServiceAccount. The ServiceAccount admission plugin names `default` before
  // webhooks run; where it is off the pod has none and the apiserver would reject the projection.
  if (!spec.serviceAccountName && !spec.serviceAccount) patch.push({ op: 'add', path: '/spec/serviceAccountName', value: 'default' });
  // The process check needs to see the app's processes; sharing is a pod-wide change, so only on request.
  if (o.shareProcessNamespace && spec.shareProcessNamespace !== true) patch.push({ op: 'add', path: '/spec/shareProcessNamespace', value: true });

  const newAnnotations: Record<string, string> = { [ANNOTATIONS.status]: `injected:${mode}` };
  // kubectl logs/exec without -c keep choosing the app, not the sidecar appended after it.
  if (mode === 'classic' && annotations['kubectl.kubernetes.io/default-container'] === undefined) newAnnotations['kubectl.kubernetes.io/default-container'] = spec.containers[0]!.name;
  if (pod.metadata?.annotations) for (const [k, v] of Object.entries(newAnnotations)) patch.push({ op: 'add', path: `/metadata/annotations/${esc(k)}`, value: v });
  else if (pod.metadata) patch.push({ op: 'add', path: '/metadata/annotations', value: newAnnotations });
  else patch.push({ op: 'add', path: '/metadata', value: { annotations: newAnnotations } });
  return { injected: true, mode, patch, warnings: o.warnings };
}
