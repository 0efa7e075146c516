import { z } from 'zod';
import { LogConfig } from '../src/config/common-config.ts';
import { byteSize, duration, hostname, identifier } from '../src/protocol/common.ts';
import { parseBytes, parseDuration } from '../src/units.ts';
import { WebhookConfig } from './webhook/webhook-config.ts';
import { EngineConfig } from './engine/engine-config.ts';
import { CollectorCommandTemplate } from './control/commands/command-templates.ts';

const maxDuration = (max: string) => duration.check(z.refine((s: string) => parseDuration(s)! <= parseDuration(max)!, { error: `must be at most ${max}` }));

/** The collector's config file (YAML/JSON), environment (PODPULSE_*) and flags, validated once in main.ts. */
export const CollectorConfig = z.strictObject({
  listen: z
    .strictObject({ host: z._default(hostname, '0.0.0.0'), port: z.number().int().min(0).max(65535).default(8080) })
    .default({ host: '0.0.0.0', port: 8080 }),
  store: z
    .strictObject({
      kind: z.enum(['sqlite', 'postgres']).default('sqlite'),
      /** SQLite file. */
      path: z.string().min(1).max(4096).default('./data/podpulse.db'),
      /** SQLite durability; see docs/adr/0004-store-durability.md. */
      synchronous: z.enum(['normal', 'full']).default('normal'),
      /** PostgreSQL URL (required when kind is postgres). */
      url: z.string().max(4096).optional(),
      schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase SQL identifier').default('public'),
      maxConnections: z.number().int().min(1).max(200).default(10),
    })
    .superRefine((s, ctx) => {
      if (s.kind === 'postgres' && !s.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'is required when kind is postgres (or set PODPULSE_STORE_URL)' });
    })
    .default({ kind: 'sqlite', path: './data/podpulse.db', synchronous: 'normal', schema: 'public', maxConnections: 10 }),
  auth: z
    .strictObject({
      /** `none` is what --insecure-no-auth sets: anyone may post for any instance. */
      mode: z.enum(['tokenreview', 'static', 'none']).default('tokenreview'),
      /** tokenreview: kubeconfig with the apiserver and the collector's credentials; in-cluster config when unset. */
      kubeconfig: z.string().max(4096).optional(),
      audience: z.string().min(1).max(253).default('podpulse'),
      cacheSize: z.number().int().min(1).max(1_000_000).default(20_000),
      /** static: YAML/JSON file of tokens, each bound to a namespace and app (collector/auth/static-token-authenticator.ts). */
      tokensFile: z.string().max(4096).optional(),
    })
    .superRefine((a, ctx) => {
      if (a.mode === 'static' && !a.tokensFile) ctx.addIssue({ code: 'custom', path: ['tokensFile'], message: 'is required when mode is static' });
    })
    .default({ mode: 'tokenreview', audience: 'podpulse', cacheSize: 20_000 }),
  operators: z
    .strictObject({
      /** YAML/JSON file of operator API tokens with roles (collector/auth/operator-auth.ts); without it the operator API answers 401, except under --insecure-no-auth. */
      tokensFile: z.string().max(4096).optional(),
    })
    .default({}),
  limits: z
    .strictObject({
      bodyBytes: z._default(byteSize, '1Mi'),
      decompressedBytes: z._default(byteSize, '8Mi'),
      /** Heartbeats waiting for a transaction before requests get 429. */
      queueHeartbeats: z.number().int().min(1).max(1_000_000).default(20_000),
      /** Heartbeats per transaction (whole requests are never split). */
      batchHeartbeats: z.number().int().min(1).max(100_000).default(1000),
      /**
       * Extra wait of an idle store for company before a transaction starts. 0 (default): group commit without a
       * fixed delay: commit at once when nothing is in flight; what arrives meanwhile forms the next batch.
       */
      commitDelay: z._default(maxDuration('25ms'), '0ms'),
      retryAfter: z._default(duration, '1s'),
    })
    .default({ bodyBytes: '1Mi', decompressedBytes: '8Mi', queueHeartbeats: 20_000, batchHeartbeats: 1000, commitDelay: '0ms', retryAfter: '1s' }),
  commands: z
    .strictObject({
      /** Templates the collector may request (YAML/JSON `{templates: [...]}`), added to `templates`; each pod still runs only what its own allowlist holds. */
      templatesFile: z.string().max(4096).optional(),
      templates: z.array(CollectorCommandTemplate).max(256).default([]),
      /** A queued command not picked up by its pod within this time expires. */
      ttl: z._default(duration, '5m'),
      /** A delivered command whose result has not come within this time is marked lost (a later result still counts). */
      resultTimeout: z._default(duration, '10m'),
      /** The largest `maxFanOut` a request may give. */
      maxFanOut: z.number().int().min(1).max(10_000).default(500),
      /** Longest long poll (seconds) an agent may ask for with `?wait=`. */
      maxWait: z.number().int().min(1).max(60).default(30),
      /** How often each replica re-reads the queue (commands queued on another replica, expiry, heartbeat hints). */
      refreshInterval: z._default(maxDuration('30s'), '1s'),
    })
    .prefault({}),
  /** The config center (collector/control/config-center/). */
  configCenter: z
    .strictObject({
      /** How often each replica checks whether documents, releases or rollouts changed on another replica. */
      refreshInterval: z._default(maxDuration('60s'), '2s'),
    })
    .prefault({}),
  /** Signed worker releases (collector/control/releases/). */
  releases: z
    .strictObject({
      /** Where bundles are kept; `releases/` beside the SQLite file by default (shared storage for several replicas). */
      dir: z.string().min(1).max(4096).optional(),
      /** ed25519 public keys an upload must verify against (the daemons check again with their own keys). */
      publicKeys: z
        .array(
          z.strictObject({ keyId: identifier, pem: z.string().max(8192).optional(), pemFile: z.string().min(1).max(4096).optional() })
            .refine((k) => (k.pem === undefined) !== (k.pemFile === undefined), { error: 'give exactly one of pem and pemFile' }),
        )
        .max(32)
        .default([]),
      /** Base URL agents download releases from; by default the URL each agent reached the collector by. */
      publicUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
      maxBytes: z._default(byteSize, '64Mi'),
    })
    .prefault({}),
  /** Gray rollouts (collector/control/rollouts/). */
  rollouts: z
    .strictObject({
      /** How often running rollouts are analysed and moved on. */
      tickInterval: z._default(maxDuration('60s'), '5s'),
    })
    .prefault({}),
  retention: z
    .strictObject({
      transitions: z._default(duration, '720h'),
      rollups: z._default(duration, '840h'),
      events: z._default(duration, '720h'),
      dedup: z._default(duration, '24h'),
      instances: z._default(duration, '168h'),
      /** Queued commands with their per-instance results. */
      commands: z._default(duration, '720h'),
      /** Audit log entries. */
      audit: z._default(duration, '2160h'),
      pruneEvery: z._default(duration, '10m'),
    })
    .default({ transitions: '720h', rollups: '840h', events: '720h', dedup: '24h', instances: '168h', commands: '720h', audit: '2160h', pruneEvery: '10m' }),
  /** Per-instance and fleet diagnosis (collector/diagnosis/); durations as strings, mapped by diagnosis-options.ts. */
  diagnosis: z
    .strictObject({
      /** Run the time-driven part (silence, `for` durations, hysteresis) on this replica; leader election may switch it. */
      timeDriven: z.boolean().default(true),
      /** How often the time-driven part runs: the precision of `for` durations and silence. */
      tickInterval: z._default(duration, '1s'),
      checks: z.strictObject({ for: z._default(duration, '30s'), resolveFor: z._default(duration, '30s') }).default({ for: '30s', resolveFor: '30s' }),
      silent: z
        .strictObject({ intervalMultiplier: z.number().min(1).max(100).default(3), minThreshold: z._default(duration, '30s'), for: z._default(duration, '30s') })
        .default({ intervalMultiplier: 3, minThreshold: '30s', for: '30s' }),
      probeBroken: z.strictObject({ for: z._default(duration, '30s'), resolveFor: z._default(duration, '30s') }).default({ for: '30s', resolveFor: '30s' }),
      flap: z
        .strictObject({ maxTransitions: z.number().int().min(2).max(1000).default(6), window: z._default(duration, '5m'), calm: z._default(duration, '5m'), for: z._default(duration, '15s') })
        .default({ maxTransitions: 6, window: '5m', calm: '5m', for: '15s' }),
      /** A heartbeat sent longer ago than max(silent threshold, this) is a replay: history and SLA only, never events. */
      replayMaxAge: z._default(duration, '60s'),
      /** Instances failing the same dependency target that make one grouped event. */
      groupMinInstances: z.number().int().min(2).max(100_000).default(3),
      /** More than `share` of the fleet (and at least minCount) silent within `window`: suspect ingest, hold per-instance events. */
      massSilence: z
        .strictObject({ share: z.number().gt(0).max(1).default(0.3), minCount: z.number().int().min(1).default(10), window: z._default(duration, '60s') })
        .default({ share: 0.3, minCount: 10, window: '60s' }),
      forget: z.strictObject({ retired: z._default(duration, '5m'), silent: z._default(duration, '1h') }).default({ retired: '5m', silent: '1h' }),
      /** Node name → zone, for naming the common factor of a group outside a cluster. */
      nodeZones: z.record(z.string().min(1).max(253), z.string().min(1).max(63)).default({}),
    })
    .default({
      timeDriven: true, tickInterval: '1s', checks: { for: '30s', resolveFor: '30s' }, silent: { intervalMultiplier: 3, minThreshold: '30s', for: '30s' },
      probeBroken: { for: '30s', resolveFor: '30s' }, flap: { maxTransitions: 6, window: '5m', calm: '5m', for: '15s' }, replayMaxAge: '60s',
      groupMinInstances: 3, massSilence: { share: 0.3, minCount: 10, window: '60s' }, forget: { retired: '5m', silent: '1h' }, nodeZones: {},
    }),
  /** Diagnosis events: how they are stored and where they are sent. */
  events: z
    .strictObject({
      /** CloudEvents `source` of every event. */
      source: z.string().min(1).max(512).default('/podpulse/collector'),
      /** A firing event's content updates are emitted at most this often (severity changes at once). */
      updateMinInterval: z._default(duration, '60s'),
      /** Firing events stored before a restart and not re-raised by the diagnosis within this time are resolved. */
      staleAfterRestart: z._default(duration, '10m'),
      /** The generic webhook sink: JSON CloudEvents, `X-Podpulse-Signature: sha256=<hmac>`, retried with backoff. */
      webhook: z
        .strictObject({
          url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
          /** Shared HMAC secret, or a file holding it (env PODPULSE_EVENTS_WEBHOOK_SECRET). */
          secret: z.string().min(16).max(4096).optional(),
          secretFile: z.string().min(1).max(4096).optional(),
          timeout: z._default(duration, '10s'),
          queueLimit: z.number().int().min(1).max(1_000_000).default(10_000),
          retry: z
            .strictObject({
              baseDelay: z._default(duration, '500ms'),
              maxDelay: z._default(duration, '60s'),
              /** 0: retry until delivered (at-least-once while the process lives). */
              maxAttempts: z.number().int().min(0).max(1_000_000).default(0),
            })
            .default({ baseDelay: '500ms', maxDelay: '60s', maxAttempts: 0 }),
        })
        .refine((w) => (w.secret === undefined) !== (w.secretFile === undefined), { error: 'give exactly one of secret and secretFile', path: ['secret'] })
        .optional(),
    })
    .default({ source: '/podpulse/collector', updateMinInterval: '60s', staleAfterRestart: '10m' }),
  /** The admission webhook that injects the sidecar (collector/webhook/, docs/delivery.md). */
  webhook: WebhookConfig.prefault({}),
  /** The watch-based diagnosis engine over the Kubernetes API (collector/engine/). */
  engine: EngineConfig.prefault({}),
  log: LogConfig,
});
export type CollectorConfig = z.output<typeof CollectorConfig>;

/** Environment variables the collector reads, each mapped to its config key. */
export const COLLECTOR_ENV = {
  PODPULSE_LISTEN_HOST: 'listen.host',
  PODPULSE_LISTEN_PORT: 'listen.port',
  PODPULSE_STORE_KIND: 'store.kind',
  PODPULSE_STORE_PATH: 'store.path',
  PODPULSE_STORE_URL: 'store.url',
  PODPULSE_STORE_SCHEMA: 'store.schema',
  PODPULSE_AUTH_MODE: 'auth.mode',
  PODPULSE_AUTH_KUBECONFIG: 'auth.kubeconfig',
  PODPULSE_AUTH_TOKENS_FILE: 'auth.tokensFile',
  PODPULSE_OPERATOR_TOKENS_FILE: 'operators.tokensFile',
  PODPULSE_COMMAND_TEMPLATES_FILE: 'commands.templatesFile',
  PODPULSE_EVENTS_WEBHOOK_URL: 'events.webhook.url',
  PODPULSE_EVENTS_WEBHOOK_SECRET: 'events.webhook.secret',
  PODPULSE_LOG_LEVEL: 'log.level',
  PODPULSE_WEBHOOK_ENABLED: 'webhook.enabled',
  PODPULSE_WEBHOOK_PORT: 'webhook.listen.port',
  PODPULSE_WEBHOOK_TLS_MODE: 'webhook.tls.mode',
  PODPULSE_NAMESPACE: 'webhook.namespace',
  PODPULSE_SIDECAR_IMAGE: 'webhook.injection.image',
  PODPULSE_ENGINE_ENABLED: 'engine.enabled',
} as const;

/** Byte sizes as numbers (the schema has validated them). */
export const bytes = (v: string | number): number => parseBytes(v)!;
