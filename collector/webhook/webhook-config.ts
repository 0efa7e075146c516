import { z } from 'zod';
import { dnsLabel, dnsSubdomain, duration, hostname } from '../../src/protocol/common.ts';
import { parseDuration } from '../../src/units.ts';
import { parseQuantity } from './quantity.ts';

const quantity = (what: 'cpu' | 'memory') =>
  z.string().max(32).refine((v) => (parseQuantity(v) ?? 0) > 0, { error: `must be a positive Kubernetes ${what} quantity (e.g. ${what === 'cpu' ? '50m' : '64Mi'})` });
const labelKey = z.string().max(317).regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'must be a Kubernetes label key');
const atLeast = (min: string) => duration.check(z.refine((s: string) => parseDuration(s)! >= parseDuration(min)!, { error: `must be at least ${min}` }));

const ResourceList = z.strictObject({ cpu: quantity('cpu'), memory: quantity('memory') });

/** What the webhook injects into a pod; see docs/delivery.md. */
export const InjectionConfig = z.strictObject({
  /** The podpulse image; the sidecar runs its daemon entrypoint. */
  image: z.string().min(1).max(512).default('ghcr.io/podpulse/podpulse:0.1.0'),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
  containerName: z._default(dnsLabel, 'podpulse-probe'),
  /** Where the sidecar sends heartbeats (the collector's agent port, through its Service). */
  collectorUrl: z.url({ protocol: /^https?$/ }).default('http://podpulse-collector.podpulse.svc:8080'),
  /** `auto` picks the native sidecar (init container with restartPolicy Always) on Kubernetes ≥ 1.29. */
  sidecarMode: z.enum(['auto', 'native', 'classic']).default('auto'),
  /** Pod labels whose first present one names the app (PODPULSE_APP, through the downward API). */
  appLabels: z.array(labelKey).min(1).max(8).default(['app.kubernetes.io/name', 'app']),
  tenantLabels: z.array(labelKey).max(8).default(['podpulse.io/tenant']),
  resources: z
    .strictObject({ requests: ResourceList.default({ cpu: '10m', memory: '64Mi' }), limits: ResourceList.default({ cpu: '200m', memory: '256Mi' }) })
    .default({ requests: { cpu: '10m', memory: '64Mi' }, limits: { cpu: '200m', memory: '256Mi' } }),
  /** sizeLimit of the emptyDir holding the spool, the cached config and worker versions. */
  stateSizeLimit: quantity('memory').default('128Mi'),
  /** Lifetime of the projected ServiceAccount token (audience below); the kubelet renews it at 80%. */
  tokenExpiration: z._default(atLeast('10m'), '10m'),
  tokenAudience: z.string().min(1).max(253).default('podpulse'),
  /**
   * The daemon's local config (release public keys, command allowlist), mounted into the collector from the
   * podpulse-agent ConfigMap and passed to each sidecar inline: a pod can mount only ConfigMaps of its own namespace.
   */
  daemonConfigFile: z.string().max(4096).optional(),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
});
export type InjectionConfig = z.output<typeof InjectionConfig>;

/** The admission webhook: its TLS listener, certificates and what it injects. Off unless enabled. */
export const WebhookConfig = z.strictObject({
  enabled: z.boolean().default(false),
  listen: z.strictObject({ host: z._default(hostname, '0.0.0.0'), port: z.number().int().min(0).max(65535).default(8443) }).default({ host: '0.0.0.0', port: 8443 }),
  /** podpulse's own namespace: never injected, and where the TLS Secret and Lease live. */
  namespace: z._default(dnsLabel, 'podpulse'),
  /** The MutatingWebhookConfiguration whose caBundle the leader keeps current. */
  configurationName: z._default(dnsSubdomain, 'podpulse-injector'),
  /** Where the apiserver is; in-cluster config when unset. */
  kubeconfig: z.string().max(4096).optional(),
  tls: z
    .strictObject({
      /** `self-signed`: the collector's own CA, kept in `secretName`. `files`: cert-manager (or anyone) mounts tls.crt/tls.key. */
      mode: z.enum(['self-signed', 'files']).default('self-signed'),
      secretName: z._default(dnsSubdomain, 'podpulse-webhook-tls'),
      serviceName: z._default(dnsLabel, 'podpulse-collector'),
      /** Extra subject names for the serving certificate (e.g. 127.0.0.1 when the apiserver calls a URL). */
      extraNames: z.array(z.string().min(1).max(253)).max(16).default([]),
      certValidity: z._default(atLeast('2s'), '24h'),
      renewBefore: z._default(duration, '8h'),
      caValidity: z._default(atLeast('1h'), '8760h'),
      caRenewBefore: z._default(duration, '720h'),
      checkEvery: z._default(atLeast('100ms'), '1m'),
      certFile: z.string().max(4096).default('/etc/podpulse/webhook-tls/tls.crt'),
      keyFile: z.string().max(4096).default('/etc/podpulse/webhook-tls/tls.key'),
    })
    .superRefine((t, ctx) => {
      if (parseDuration(t.renewBefore)! >= parseDuration(t.certValidity)!) ctx.addIssue({ code: 'custom', path: ['renewBefore'], message: `must be shorter than certValidity "${t.certValidity}"` });
      if (parseDuration(t.caRenewBefore)! >= parseDuration(t.caValidity)!) ctx.addIssue({ code: 'custom', path: ['caRenewBefore'], message: `must be shorter than caValidity "${t.caValidity}"` });
    })
    .prefault({}),
  injection: InjectionConfig.prefault({}),
  /** How often the report of pods lacking the sidecar runs (and updates its event). */
  missingReportEvery: z._default(atLeast('10s'), '5m'),
});
export type WebhookConfig = z.output<typeof WebhookConfig>;
export type WebhookConfigInput = z.input<typeof WebhookConfig>;
