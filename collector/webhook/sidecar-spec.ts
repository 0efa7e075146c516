import type { V1Container, V1EnvVar, V1Volume } from '@kubernetes/client-node';
import { parseDuration } from '../../src/units.ts';
import type { InjectionConfig } from './webhook-config.ts';

/** Volume names the webhook adds; a pod that already uses one of them is left alone. */
export const SIDECAR_VOLUMES = { state: 'podpulse-state', token: 'podpulse-token' } as const;

/** Paths inside the sidecar; the daemon and worker read them through the env below. */
export const SIDECAR_PATHS = {
  stateDir: '/var/lib/podpulse',
  tokenDir: '/var/run/secrets/podpulse',
  tokenFile: '/var/run/secrets/podpulse/token',
} as const;

/**
 * The image's sidecar entrypoint (Dockerfile): tini reaps the worker and command children (`-s` because with a
 * shared process namespace PID 1 is the pause process), the script writes PODPULSE_DAEMON_CONFIG to the state dir
 * and execs the daemon with it.
 */
export const SIDECAR_COMMAND = ['/usr/bin/tini', '-s', '--', '/opt/podpulse/bin/podpulse-sidecar'] as const;

/** The uid/gid the image runs as (distroless "nonroot"). */
export const SIDECAR_UID = 65532;

export interface SidecarInputs {
  config: InjectionConfig;
  /** The pod's labels: the first configured app/tenant label present is mapped through the downward API. */
  labels: Record<string, string>;
  resources: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };
  restartPolicyAlways: boolean;
  /** The daemon's local config (JSON, from the operator's YAML), or undefined to run on its defaults. */
  daemonConfig: string | undefined;
}

const fieldEnv = (name: string, fieldPath: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });
/** Downward API syntax for one label: metadata.labels['key']. */
const labelPath = (key: string) => `metadata.labels['${key}']`;

/** The sidecar container. No readiness or startup probe: nothing about the probe may delay the app or take it out of its Service. */
export function sidecarContainer(p: SidecarInputs): V1Container {
  const cfg = p.config;
  const env: V1EnvVar[] = [
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('POD_UID', 'metadata.uid'),
    fieldEnv('NODE_NAME', 'spec.nodeName'),
    fieldEnv('POD_IP', 'status.podIP'),
  ];
  const app = cfg.appLabels.find((k) => k in p.labels);
  if (app) env.push(fieldEnv('PODPULSE_APP', labelPath(app)));
  const tenant = cfg.tenantLabels.find((k) => k in p.labels);
  if (tenant) env.push(fieldEnv('PODPULSE_TENANT', labelPath(tenant)));
  env.push(
    { name: 'PODPULSE_COLLECTOR_URL', value: cfg.collectorUrl },
    { name: 'PODPULSE_TOKEN_FILE', value: SIDECAR_PATHS.tokenFile },
    { name: 'PODPULSE_STATE_DIR', value: SIDECAR_PATHS.stateDir },
    { name: 'PODPULSE_LOG_LEVEL', value: cfg.logLevel },
  );
  if (p.daemonConfig !== undefined) env.push({ name: 'PODPULSE_DAEMON_CONFIG', value: p.daemonConfig });
  return {
    name: cfg.containerName,
    image: cfg.image,
    imagePullPolicy: cfg.imagePullPolicy,
    command: [...SIDECAR_COMMAND],
    ...(p.restartPolicyAlways ? { restartPolicy: 'Always' } : {}),
    env,
    resources: { requests: { ...p.resources.requests }, limits: { ...p.resources.limits } },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: SIDECAR_UID,
      runAsGroup: SIDECAR_UID,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: SIDECAR_VOLUMES.state, mountPath: SIDECAR_PATHS.stateDir },
      // The root filesystem is read-only; tools the command templates run (curl, dig) may want a /tmp.
      { name: SIDECAR_VOLUMES.state, mountPath: '/tmp', subPath: 'tmp' },
      { name: SIDECAR_VOLUMES.token, mountPath: SIDECAR_PATHS.tokenDir, readOnly: true },
    ],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

/** The emptyDir (spool, cached config, worker versions) and the projected token with audience podpulse. */
export function sidecarVolumes(cfg: InjectionConfig, stateSizeLimit: string): V1Volume[] {
  return [
    { name: SIDECAR_VOLUMES.state, emptyDir: { sizeLimit: stateSizeLimit } },
    {
      name: SIDECAR_VOLUMES.token,
      projected: {
        // Readable by the sidecar's non-root user whatever uid the app runs as (the kubelet makes the token
        // root-owned 0600 unless every container shares one uid); the volume is mounted in the sidecar only.
        defaultMode: 0o444,
        sources: [{ serviceAccountToken: { audience: cfg.tokenAudience, expirationSeconds: Math.round(parseDuration(cfg.tokenExpiration)! / 1000), path: 'token' } }],
      },
    },
  ];
}
