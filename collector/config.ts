import { z } from 'zod';
import { LogConfig } from '../src/config/common-config.ts';
import { byteSize, duration, hostname } from '../src/protocol/common.ts';
import { parseBytes, parseDuration } from '../src/units.ts';

const maxDuration = (max: string) => duration.refine((s) => parseDuration(s)! <= parseDuration(max)!, { error: `must be at most ${max}` });

/** The collector's config file (YAML/JSON), environment (PODPULSE_*) and flags, validated once in main.ts. */
export const CollectorConfig = z.strictObject({
  listen: z
    .strictObject({ host: hostname.default('0.0.0.0'), port: z.number().int().min(0).max(65535).default(8080) })
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
      bodyBytes: byteSize.default('1Mi'),
      decompressedBytes: byteSize.default('8Mi'),
      /** Heartbeats waiting for a transaction before requests get 429. */
      queueHeartbeats: z.number().int().min(1).max(1_000_000).default(20_000),
      /** Heartbeats per transaction (whole requests are never split). */
      batchHeartbeats: z.number().int().min(1).max(100_000).default(1000),
      /** Longest wait of a heartbeat for company before its transaction starts. */
      commitDelay: maxDuration('25ms').default('2ms'),
      retryAfter: duration.default('1s'),
    })
    .default({ bodyBytes: '1Mi', decompressedBytes: '8Mi', queueHeartbeats: 20_000, batchHeartbeats: 1000, commitDelay: '2ms', retryAfter: '1s' }),
  retention: z
    .strictObject({
      transitions: duration.default('720h'),
      rollups: duration.default('840h'),
      events: duration.default('720h'),
      dedup: duration.default('24h'),
      instances: duration.default('168h'),
      pruneEvery: duration.default('10m'),
    })
    .default({ transitions: '720h', rollups: '840h', events: '720h', dedup: '24h', instances: '168h', pruneEvery: '10m' }),
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
  PODPULSE_LOG_LEVEL: 'log.level',
} as const;

/** Byte sizes as numbers (the schema has validated them). */
export const bytes = (v: string | number): number => parseBytes(v)!;
