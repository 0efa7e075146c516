import { z } from 'zod';
import { dnsLabel, dnsSubdomain, duration } from '../../src/protocol/common.ts';
import { parseDuration } from '../../src/units.ts';

const ms = (s: string): number => parseDuration(s)!;

/** The watch-based diagnosis engine (collector/engine/, docs/configuration.md). */
export const EngineConfig = z.strictObject({
  /** Off by default: the collector runs without a cluster. */
  enabled: z.boolean().default(false),
  /** Where the apiserver is; the in-cluster ServiceAccount (or KUBECONFIG, ~/.kube/config) when unset. */
  kubeconfig: z.string().min(1).max(4096).optional(),
  leaderElection: z
    .strictObject({
      /** Off: this replica always leads (one replica only). */
      enabled: z.boolean().default(true),
      namespace: z._default(dnsLabel, 'podpulse'),
      name: z._default(dnsSubdomain, 'podpulse-engine'),
      /** This replica's name in the Lease; POD_NAME, else hostname and pid. */
      identity: z.string().min(1).max(253).optional(),
      leaseDuration: z._default(duration, '15s'),
      renewDeadline: z._default(duration, '10s'),
      retryPeriod: z._default(duration, '2s'),
    })
    .superRefine((l, ctx) => {
      if (ms(l.renewDeadline) >= ms(l.leaseDuration)) ctx.addIssue({ code: 'custom', path: ['renewDeadline'], message: 'must be less than leaseDuration' });
      if (ms(l.retryPeriod) >= ms(l.renewDeadline)) ctx.addIssue({ code: 'custom', path: ['retryPeriod'], message: 'must be less than renewDeadline' });
    })
    .prefault({}),
  /** A ConfigMap whose data holds rule documents (one per key, JSON or YAML); rules PUT through the API override it. */
  rulesConfigMap: z.strictObject({ namespace: dnsLabel, name: dnsSubdomain }).optional(),
  /** How often the leader re-reads the rules stored through the API (a PUT may land on another replica). */
  rulesRefreshInterval: z._default(duration, '5s'),
  /** LIST page size (`limit`). */
  pageSize: z.number().int().min(1).max(10_000).default(500),
  /** Try the streaming list (`sendInitialEvents`, Kubernetes ≥ 1.27) first; older servers fall back to paginated LIST. */
  streamingList: z.boolean().default(true),
  /** First and longest wait between failed list/watch attempts (exponential, with jitter). */
  backoff: z.strictObject({ initial: z._default(duration, '500ms'), max: z._default(duration, '30s') }).prefault({}),
});
export type EngineConfig = z.output<typeof EngineConfig>;
