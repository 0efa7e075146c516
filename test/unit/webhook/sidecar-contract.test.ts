import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DAEMON_ENV_MAP, DaemonConfig } from '../../../daemon/config.ts';
import { DEFAULT_IDENTITY_ENV, instanceFromEnv } from '../../../src/agent/identity.ts';
import { loadConfig } from '../../../src/config/load-config.ts';
import { injectPod } from '../../../collector/webhook/inject-pod.ts';
import { SIDECAR_PATHS } from '../../../collector/webhook/sidecar-spec.ts';
import { WorkerConfig } from '../../../worker/config.ts';
import { applied, injection, review } from './admission-fixtures.ts';

/** The injected pod, and the sidecar's environment as the kubelet would resolve it for a scheduled pod. */
function injected(): { pod: V1Pod; sidecar: V1Container; env: Record<string, string> } {
  const r = review('plain');
  const res = injectPod(r.request.object, r.request.namespace, { config: injection(), ownNamespace: 'podpulse', nativeSupported: false, daemonConfig: 'commands: { enabled: true }\n' });
  if (!res.injected) throw new Error(res.reason);
  const pod = applied(r.request.object, res.patch as never);
  const sidecar = pod.spec!.containers.find((c) => c.name === 'podpulse-probe')!;
  const fields: Record<string, string> = {
    'metadata.name': 'web', 'metadata.namespace': 'shop', 'metadata.uid': '0f8a3c52-5e1b-4c8e-9d2a-3b7f1e6a9c40', 'spec.nodeName': 'node-1', 'status.podIP': '10.0.0.7',
  };
  const labels = pod.metadata!.labels!;
  const resolve = (path: string) => {
    const label = /^metadata\.labels\['(.+)'\]$/.exec(path)?.[1];
    return fields[path] ?? (label !== undefined ? (labels[label] ?? '') : '');
  };
  const env = Object.fromEntries((sidecar.env ?? []).map((e) => [e.name, e.value ?? resolve(e.valueFrom!.fieldRef!.fieldPath)]));
  return { pod, sidecar, env };
}

describe('the injected sidecar gives the daemon and worker what they read', () => {
  it('sets every variable of DAEMON_ENV_MAP, and the daemon config loads from them', async () => {
    const { env } = injected();
    for (const k of Object.keys(DAEMON_ENV_MAP)) expect(env, k).toHaveProperty(k);
    const cfg = await loadConfig({ schema: DaemonConfig, what: 'daemon config', env, envMap: DAEMON_ENV_MAP });
    expect(cfg.stateDir).toBe(SIDECAR_PATHS.stateDir);
    expect(cfg.collector.tokenFile).toBe(SIDECAR_PATHS.tokenFile);
  });

  it('gives the identity every downward-API value without fallbacks', () => {
    const { env } = injected();
    const { instance, fallbacks } = instanceFromEnv(env, DEFAULT_IDENTITY_ENV);
    expect(fallbacks).toEqual([]);
    expect(instance).toMatchObject({ pod: 'web', namespace: 'shop', app: 'web', tenant: 'shop', node: 'node-1', podIp: '10.0.0.7' });
    // The worker reads identity through the same env names.
    expect(WorkerConfig.parse({}).identity).toEqual({ appEnv: DEFAULT_IDENTITY_ENV.app, tenantEnv: DEFAULT_IDENTITY_ENV.tenant });
  });

  it('mounts the token where PODPULSE_TOKEN_FILE points and the state volume where PODPULSE_STATE_DIR points', () => {
    const { pod, sidecar, env } = injected();
    const mountOf = (file: string) => sidecar.volumeMounts!.find((m) => file === m.mountPath || file.startsWith(`${m.mountPath}/`));
    const token = mountOf(env.PODPULSE_TOKEN_FILE!)!;
    const vol = pod.spec!.volumes!.find((v) => v.name === token.name)!;
    expect(`${token.mountPath}/${vol.projected!.sources![0]!.serviceAccountToken!.path}`).toBe(env.PODPULSE_TOKEN_FILE);
    const state = mountOf(env.PODPULSE_STATE_DIR!)!;
    expect(pod.spec!.volumes!.find((v) => v.name === state.name)!.emptyDir).toBeDefined();
    expect(state.readOnly).toBeUndefined();
  });
});
