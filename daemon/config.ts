import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { LogConfig } from '../src/config/common-config.ts';
import { AgentConfig } from '../src/protocol/agent-config.ts';
import { CommandTemplate } from '../src/protocol/command.ts';
import { absolutePath, duration, identifier, port, version } from '../src/protocol/common.ts';
import { VERSION } from '../src/program.ts';
import { WORKER_ENV, WORKER_NODE_FLAGS } from './worker-footprint.ts';

/** The worker bundle baked into the image: next to dist/daemon.mjs. The last fallback when no release is installed. */
function bakedWorkerPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'worker.mjs');
}

const PublicKey = z.strictObject({
  keyId: identifier,
  pem: z.string().max(4096).regex(/-----BEGIN PUBLIC KEY-----/, 'must be an SPKI PEM public key'),
});

/**
 * The daemon's LOCAL config, mounted at injection. The collector cannot change any of it: release keys, the
 * command allowlist and the daemon's own limits are exactly what a compromised collector must not control.
 */
export const DaemonConfig = z.strictObject({
  log: LogConfig,
  collector: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }),
      /** The projected ServiceAccount token (audience podpulse); re-read when kubelet rotates it. */
      tokenFile: z.string().max(4096).optional(),
      timeout: duration.default('10s'),
    }),
  /** An emptyDir: versions/, state.json, the config cache, the status file and the worker's spool. */
  stateDir: absolutePath.default('/var/lib/podpulse'),
  worker: z
    .strictObject({
      bakedPath: z.string().max(4096).default(bakedWorkerPath),
      bakedVersion: version.default(VERSION === '0.0.0-dev' ? '0.0.0' : VERSION),
      /** A worker that has not said `ready` by then has failed (never "ready by timeout"). */
      readyDeadline: duration.default('30s'),
      /** IPC stop → SIGTERM → SIGKILL; keep it below the pod's terminationGracePeriodSeconds. */
      stopGrace: duration.default('20s'),
      restart: z
        .strictObject({
          initial: duration.default('1s'),
          max: duration.default('60s'),
          /** A worker that ran this long without exiting resets the backoff. */
          resetAfter: duration.default('5m'),
          /** Consecutive failures after which the state is `crashloop` (restarts go on at the capped delay). */
          crashloopAfter: z.number().int().min(1).max(100).default(5),
        })
        .prefault({}),
      /** After `ready`, the new worker must deliver a heartbeat within this, or the update is rolled back. */
      updateGrace: duration.default('60s'),
      downloadTimeout: duration.default('60s'),
      maxDownloadBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(32 * 1024 * 1024),
      /** The kernel's OOM-kill preference for the worker (the daemon and the app are spared first). */
      oomScoreAdj: z.number().int().min(-1000).max(1000).default(1000),
      /**
       * Node flags the worker is forked with (instead of the daemon's own execArgv); they only act at process start.
       * The defaults keep its private memory small, see docs/worker-footprint.md.
       */
      nodeFlags: z.array(z.string().max(128).regex(/^--[a-z0-9-_]+(=[^\s]*)?$/, 'must be a node flag such as --max-semi-space-size=1')).max(32).default(() => [...WORKER_NODE_FLAGS]),
      /** Environment added for the worker (allocator settings by default); a key set to "" removes it. */
      env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name'), z.string().max(1024)).default(() => ({ ...WORKER_ENV })),
    })
    .prefault({}),
  release: z.strictObject({ publicKeys: z.array(PublicKey).max(16).default([]) }).prefault({}),
  commands: z
    .strictObject({
      /** The only commands this pod will run, whatever the collector asks. */
      allowlist: z.array(CommandTemplate).max(64).default([]),
      maxConcurrent: z.number().int().min(1).max(16).default(2),
      /** Seconds the collector may hold a long poll. */
      pollWait: z.number().int().min(1).max(60).default(25),
      enabled: z.boolean().default(true),
    })
    .prefault({}),
  config: z
    .strictObject({
      pollInterval: duration.default('30s'),
      /** Used when there is neither a cached config nor a reachable collector. */
      default: AgentConfig.prefault({ apiVersion: 'podpulse.io/v1' }),
    })
    .prefault({}),
  /** The daemon's own limits; over them it logs why and exits with EXIT_SELF_LIMIT. */
  self: z
    .strictObject({
      maxRssMb: z.number().min(16).max(4096).default(192),
      maxCpuPercent: z.number().min(1).max(800).default(25),
      cpuSamples: z.number().int().min(1).max(60).default(6),
    })
    .prefault({}),
  /** Where the container's cgroup files are (configurable so tests can point at a fake tree). */
  cgroupRoot: z.string().max(4096).default('/sys/fs/cgroup'),
  health: z
    .strictObject({
      statusInterval: duration.default('5s'),
      /** Opt-in localhost port serving GET /healthz; none by default. */
      port: port.optional(),
    })
    .prefault({}),
});
export type DaemonConfig = z.output<typeof DaemonConfig>;
export type DaemonConfigInput = z.input<typeof DaemonConfig>;

/** Environment variables the daemon reads (set by the injection webhook). */
export const DAEMON_ENV_MAP = {
  PODPULSE_COLLECTOR_URL: 'collector.url',
  PODPULSE_TOKEN_FILE: 'collector.tokenFile',
  PODPULSE_STATE_DIR: 'stateDir',
  PODPULSE_LOG_LEVEL: 'log.level',
} as const;
