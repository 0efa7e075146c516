import * as z from 'zod/mini';
import { LogConfig } from '../src/config/common-config.ts';
import { AgentConfig } from '../src/protocol/agent-config.ts';
import { absolutePath, byteSize, duration } from '../src/protocol/common.ts';
import { parseBytes, parseDuration } from '../src/units.ts';

const envName = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name'));

/**
 * The worker's own config file (`--config worker.yaml`). Under the daemon only the local parts (collector, spool,
 * limits) come from here and the probe config arrives over IPC; standalone, `probe` is the config it runs.
 */
export const WorkerConfig = z
  .strictObject({
    collector: z._default(
      z.strictObject({
        url: z._default(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }), 'http://podpulse-collector.podpulse.svc:8080'),
        /** The projected ServiceAccount token (audience podpulse); unset sends no token (local runs). */
        tokenFile: z.optional(absolutePath),
        timeout: z._default(duration, '10s'),
      }),
      { url: 'http://podpulse-collector.podpulse.svc:8080', timeout: '10s' },
    ),
    /** Env vars holding the app and tenant (the webhook maps them from configured pod labels). */
    identity: z._default(z.strictObject({ appEnv: z._default(envName, 'PODPULSE_APP'), tenantEnv: z._default(envName, 'PODPULSE_TENANT') }), { appEnv: 'PODPULSE_APP', tenantEnv: 'PODPULSE_TENANT' }),
    spool: z._default(
      z.strictObject({
        /** Meant to be an emptyDir: it survives a worker restart, not a pod deletion. */
        dir: z._default(absolutePath, '/tmp/podpulse-spool'),
        maxBytes: z._default(byteSize, '8Mi'),
        maxAge: z._default(duration, '6h'),
        /** Segment size; one segment is replayed as one batch, so it also bounds a replay request. */
        segmentBytes: z._default(byteSize, '256Ki'),
      }),
      { dir: '/tmp/podpulse-spool', maxBytes: '8Mi', maxAge: '6h', segmentBytes: '256Ki' },
    ),
    /** Checks running at the same time; further due runs wait for a slot (their deadline keeps running). */
    concurrency: z._default(z.number().check(z.int(), z.gte(1), z.lte(64)), 8),
    /** Results kept per check (plus the last failure). */
    history: z._default(z.number().check(z.int(), z.gte(1), z.lte(1000)), 10),
    /** How long a graceful stop (SIGTERM) may spend flushing heartbeats. */
    stopGrace: z._default(duration, '5s'),
    log: LogConfig,
    probe: z._default(AgentConfig, AgentConfig.parse({ apiVersion: 'podpulse.io/v1' })),
  })
  .check(z.superRefine((cfg, ctx) => {
    const max = parseBytes(cfg.spool.maxBytes) ?? 0;
    const seg = parseBytes(cfg.spool.segmentBytes) ?? 0;
    if (seg < 4096) ctx.addIssue({ code: 'custom', path: ['spool', 'segmentBytes'], message: 'must be at least 4Ki' });
    if (seg > 512 * 1024) ctx.addIssue({ code: 'custom', path: ['spool', 'segmentBytes'], message: 'must be at most 512Ki (one segment is one replay request)' });
    if (max < seg * 2) ctx.addIssue({ code: 'custom', path: ['spool', 'maxBytes'], message: `must be at least twice spool.segmentBytes "${cfg.spool.segmentBytes}"` });
    if ((parseDuration(cfg.spool.maxAge) ?? 0) < 1000) ctx.addIssue({ code: 'custom', path: ['spool', 'maxAge'], message: 'must be at least 1s' });
  }));
export type WorkerConfig = z.output<typeof WorkerConfig>;

/** Environment variables the worker reads, mapped onto config keys (POD_* identity is read by instanceFromEnv). */
export const WORKER_ENV_MAP = {
  PODPULSE_COLLECTOR_URL: 'collector.url',
  PODPULSE_TOKEN_FILE: 'collector.tokenFile',
  PODPULSE_SPOOL_DIR: 'spool.dir',
  PODPULSE_LOG_LEVEL: 'log.level',
} as const;
