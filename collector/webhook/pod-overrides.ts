import { parseQuantity } from './quantity.ts';
import type { InjectionConfig } from './webhook-config.ts';

/** The pod annotations the webhook reads. Labels drive selection; annotations tune what is injected. */
export const ANNOTATIONS = {
  status: 'podpulse.io/status',
  mode: 'podpulse.io/sidecar-mode',
  cpu: 'podpulse.io/cpu',
  memory: 'podpulse.io/memory',
  cpuLimit: 'podpulse.io/cpu-limit',
  memoryLimit: 'podpulse.io/memory-limit',
  stateSize: 'podpulse.io/state-size',
  shareProcessNamespace: 'podpulse.io/share-process-namespace',
} as const;

/** The opt-in/opt-out label (namespace: enabled; pod: disabled). */
export const INJECT_LABEL = 'podpulse.io/inject';

// Overrides beyond these are typos (64Gi for 64Mi) more often than intent; the sidecar must stay small.
const MAX = { cpu: 4, memory: 4 * 2 ** 30, stateSize: 4 * 2 ** 30 };

export interface PodOverrides {
  resources: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };
  stateSizeLimit: string;
  /** Per-pod sidecar form, when the pod asks for one. */
  mode?: 'native' | 'classic';
  shareProcessNamespace: boolean;
  /** One per ignored annotation, naming it: returned to the client as admission warnings. */
  warnings: string[];
}

/** Reads the per-pod annotations over the configured defaults; a bad value is ignored with a warning naming it. */
export function podOverrides(annotations: Record<string, string>, cfg: InjectionConfig): PodOverrides {
  const warnings: string[] = [];
  const quantity = (key: string, max: number, fallback: string): string => {
    const raw = annotations[key];
    if (raw === undefined) return fallback;
    const v = parseQuantity(raw.trim());
    if (v === undefined || v <= 0 || v > max) {
      warnings.push(`podpulse: annotation ${key}=${JSON.stringify(raw.slice(0, 64))} ignored: ${v === undefined ? 'not a Kubernetes quantity' : v <= 0 ? 'must be positive' : 'larger than the sidecar may use'}; using ${fallback}`);
      return fallback;
    }
    return raw.trim();
  };
  const d = cfg.resources;
  const requests = { cpu: quantity(ANNOTATIONS.cpu, MAX.cpu, d.requests.cpu), memory: quantity(ANNOTATIONS.memory, MAX.memory, d.requests.memory) };
  const limits = { cpu: quantity(ANNOTATIONS.cpuLimit, MAX.cpu, d.limits.cpu), memory: quantity(ANNOTATIONS.memoryLimit, MAX.memory, d.limits.memory) };
  // The apiserver rejects a pod whose request exceeds its limit; raise the limit rather than break the pod.
  for (const r of ['cpu', 'memory'] as const) {
    if (parseQuantity(requests[r])! > parseQuantity(limits[r])!) {
      warnings.push(`podpulse: ${r} request ${requests[r]} is above the limit ${limits[r]}; the limit is raised to ${requests[r]}`);
      limits[r] = requests[r];
    }
  }
  const out: PodOverrides = {
    resources: { requests, limits },
    stateSizeLimit: quantity(ANNOTATIONS.stateSize, MAX.stateSize, cfg.stateSizeLimit),
    shareProcessNamespace: false,
    warnings,
  };
  const mode = annotations[ANNOTATIONS.mode];
  if (mode !== undefined) {
    if (mode === 'native' || mode === 'classic') out.mode = mode;
    else warnings.push(`podpulse: annotation ${ANNOTATIONS.mode}=${JSON.stringify(mode.slice(0, 64))} ignored: must be native or classic`);
  }
  const share = annotations[ANNOTATIONS.shareProcessNamespace];
  if (share !== undefined) {
    if (share === 'true' || share === 'false') out.shareProcessNamespace = share === 'true';
    else warnings.push(`podpulse: annotation ${ANNOTATIONS.shareProcessNamespace}=${JSON.stringify(share.slice(0, 64))} ignored: must be "true" or "false"`);
  }
  return out;
}
