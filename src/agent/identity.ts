import { hostname } from 'node:os';
import type { Instance } from '../protocol/heartbeat.ts';

/** Where the sidecar finds who it is: env from the downward API, set by the injection webhook. */
export interface IdentityEnvNames {
  /** Env var holding the app name (the webhook maps it from a configured pod label). */
  app: string;
  /** Env var holding the tenant name (from a configured label); may be unset. */
  tenant: string;
}

export const DEFAULT_IDENTITY_ENV: IdentityEnvNames = { app: 'PODPULSE_APP', tenant: 'PODPULSE_TENANT' };

/**
 * The instance identity from the downward API env (POD_NAME, POD_NAMESPACE, POD_UID, NODE_NAME, POD_IP) plus the
 * app/tenant env. Outside a pod (local runs, tests) missing values fall back to stable local ones, so the
 * heartbeat still validates; `fallbacks` lists which ones were guessed so the caller can log it once.
 */
export function instanceFromEnv(env: NodeJS.ProcessEnv, names: IdentityEnvNames = DEFAULT_IDENTITY_ENV): { instance: Instance; fallbacks: string[] } {
  const fallbacks: string[] = [];
  const pick = (name: string, fallback: () => string): string => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    fallbacks.push(name);
    return fallback();
  };
  const pod = pick('POD_NAME', () => 'local-probe');
  const instance: Instance = {
    podUid: pick('POD_UID', () => stableUuid(`${hostname()}/${pod}`)),
    namespace: pick('POD_NAMESPACE', () => 'default'),
    pod,
    app: pick(names.app, () => pod.replace(/-[a-z0-9]{5,10}(-[a-z0-9]{5})?$/, '') || 'app'),
    tenant: env[names.tenant] ?? '',
  };
  if (env.NODE_NAME) instance.node = env.NODE_NAME;
  if (env.POD_IP) instance.podIp = env.POD_IP;
  return { instance, fallbacks };
}

/** A name-based UUID (v5 layout over sha1): the same host and pod name give the same uid in every process. */
function stableUuid(name: string): string {
  // node:crypto only here, outside a pod: it costs about 1 MB of private memory (docs/worker-footprint.md).
  const h = process.getBuiltinModule('node:crypto').createHash('sha1').update(`podpulse:${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
