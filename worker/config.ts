import { z } from 'zod';
import { LogConfig } from '../src/config/common-config.ts';
import { AgentConfig } from '../src/protocol/agent-config.ts';
import { absolutePath, byteSize, duration } from '../src/protocol/common.ts';
import { parseBytes, parseDuration } from '../src/units.ts';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name');

/**
 * The worker's own config file (`--config worker.yaml`). Under the daemon only the local parts (collector, spool,
 * limits) come from here and the probe config arrives over IPC; standalone, `probe` is the config it runs.
 */
export const WorkerConfig = z
  .strictObject({
    collector: z
      .strictObject({
        url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).default('http://podpulse-collector.podpulse.svc:8080'),
        /** The projected ServiceAccount token (audience podpulse); unset sends no token (local runs). */
        tokenFile: absolutePath.optional(),
        timeout: duration.default('10s'),
      })
      .default({ url: 'http://podpulse-collector.podpulse.svc:8080', timeout: '10s' }),
    /** Env vars holding the app and tenant (the webhook maps them from configured pod labels). */
    identity: z.strictObject({ appEnv: envName.default('PODPULSE_APP'), tenantEnv: envName.default('PODPULSE_TENANT') }).default({ appEnv: 'PODPULSE_APP', tenantEnv: 'PODPULSE_TENANT' }),
    spool: z
      .strictObject({
        /** Meant to be an emptyDir: it survives a worker restart, not a pod deletion. */
        dir: absolutePath.default('/tmp/podpulse-spool'),
        maxBytes: byteSize.default('8Mi'),
        maxAge: duration.default('6h'),
        /** Segment size; one segment is replayed as one batch, so it also bounds a replay request. */
        segmentBytes: byteSize.default('256Ki'),
      })
      .default({ dir: '/tmp/podpulse-spool', maxBytes: '8Mi', maxAge: '6h', segmentBytes: '256Ki' }),
    /** Checks running at the same time; further due runs wait for a slot (their deadline keeps running). */
    concurrency: z.number().int().min(1).max(64).default(8),
    /** Results kept per check (plus the last failure). */
    history: z.number().int().min(1).max(1000).default(10),
    /** How long a graceful stop (SIGTERM) may spend flushing heartbeats. */
    stopGrace: duration.default('5s'),
    log: LogConfig,
    probe: AgentConfig.default(AgentConfig.parse({ apiVersion: 'podpulse.io/v1' })),
  })
  .superRefine((cfg, ctx) => {
    const max = parseBytes(cfg.spool.maxBytes) ?? 0;
    const seg = parseBytes(cfg.spool.segmentBytes) ?? 0;
    if (seg < 4096) ctx.addIssue({ code: 'custom', path: ['spool', 'segmentBytes'], message: 'must be at least 4Ki' });
    if (seg > 512 * 1024) ctx.addIssue({ code: 'custom', path: ['spool', 'segmentBytes'], message: 'must be at most 512Ki (one segment is one replay request)' });
    if (max < seg * 2) ctx.addIssue({ code: 'custom', path: ['spool', 'maxBytes'], message: `must be at least twice spool.segmentBytes "${cfg.spool.segmentBytes}"` });
    if ((parseDuration(cfg.spool.maxAge) ?? 0) < 1000) ctx.addIssue({ code: 'custom', path: ['spool', 'maxAge'], message: 'must be at least 1s' });
  });
export type WorkerConfig = z.output<typeof WorkerConfig>;

/** Environment variables the worker reads, mapped onto config keys (POD_* identity is read by instanceFromEnv). */
export const WORKER_ENV_MAP = {
  PODPULSE_COLLECTOR_URL: 'collector.url',
  PODPULSE_TOKEN_FILE: 'collector.tokenFile',
  PODPULSE_SPOOL_DIR: 'spool.dir',
  PODPULSE_LOG_LEVEL: 'log.level',
} as const;
