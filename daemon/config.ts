import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import * as z from 'zod/mini';
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
  pem: z.string().check(z.maxLength(4096), z.regex(/-----BEGIN PUBLIC KEY-----/, 'must be an SPKI PEM public key')),
});

/**
 * The daemon's LOCAL config, mounted at injection. The collector cannot change any of it: release keys, the
 * command allowlist and the daemon's own limits are exactly what a compromised collector must not control.
 */
export const DaemonConfig = z.strictObject({
  log: LogConfig,
  collector: z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    /** The projected ServiceAccount token (audience podpulse); re-read when kubelet rotates it. */
    tokenFile: z.optional(z.string().check(z.maxLength(4096))),
    timeout: z._default(duration, '10s'),
  }),
  /** An emptyDir: versions/, state.json, the config cache, the status file and the worker's spool. */
  stateDir: z._default(absolutePath, '/var/lib/podpulse'),
  worker: z.prefault(
    z.strictObject({
      bakedPath: z._default(z.string().check(z.maxLength(4096)), bakedWorkerPath),
      bakedVersion: z._default(version, VERSION === '0.0.0-dev' ? '0.0.0' : VERSION),
      /** A worker that has not said `ready` by then has failed (never "ready by timeout"). */
      readyDeadline: z._default(duration, '30s'),
      /** IPC stop → SIGTERM → SIGKILL; keep it below the pod's terminationGracePeriodSeconds. */
      stopGrace: z._default(duration, '20s'),
      restart: z.prefault(
        z.strictObject({
          initial: z._default(duration, '1s'),
          max: z._default(duration, '60s'),
          /** A worker that ran this long without exiting resets the backoff. */
          resetAfter: z._default(duration, '5m'),
          /** Consecutive failures after which the state is `crashloop` (restarts go on at the capped delay). */
          crashloopAfter: z._default(z.number().check(z.int(), z.gte(1), z.lte(100)), 5),
        }),
        {},
      ),
      /** After `ready`, the new worker must deliver a heartbeat within this, or the update is rolled back. */
      updateGrace: z._default(duration, '60s'),
      downloadTimeout: z._default(duration, '60s'),
      maxDownloadBytes: z._default(z.number().check(z.int(), z.gte(1024), z.lte(64 * 1024 * 1024)), 32 * 1024 * 1024),
      /** The kernel's OOM-kill preference for the worker (the daemon and the app are spared first). */
      oomScoreAdj: z._default(z.number().check(z.int(), z.gte(-1000), z.lte(1000)), 1000),
      /**
       * Node flags the worker is forked with (instead of the daemon's own execArgv); they only act at process start.
       * The defaults keep its private memory small, see docs/worker-footprint.md.
       */
      nodeFlags: z._default(
        z
          .array(z.string().check(z.maxLength(128), z.regex(/^--[a-z0-9-_]+(=[^\s]*)?$/, 'must be a node flag such as --max-semi-space-size=1')))
          .check(z.maxLength(32)),
        () => [...WORKER_NODE_FLAGS],
      ),
      /** Environment added for the worker (allocator settings by default); a key set to "" removes it. */
      env: z._default(
        z.record(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name')), z.string().check(z.maxLength(1024))),
        () => ({ ...WORKER_ENV }),
      ),
    }),
    {},
  ),
  release: z.prefault(z.strictObject({ publicKeys: z._default(z.array(PublicKey).check(z.maxLength(16)), []) }), {}),
  commands: z.prefault(
    z.strictObject({
      /** The only commands this pod will run, whatever the collector asks. */
      allowlist: z._default(z.array(CommandTemplate).check(z.maxLength(64)), []),
      maxConcurrent: z._default(z.number().check(z.int(), z.gte(1), z.lte(16)), 2),
      /** Seconds the collector may hold a long poll. */
      pollWait: z._default(z.number().check(z.int(), z.gte(1), z.lte(60)), 25),
      enabled: z._default(z.boolean(), true),
    }),
    {},
  ),
  config: z.prefault(
    z.strictObject({
      pollInterval: z._default(duration, '30s'),
      /** Used when there is neither a cached config nor a reachable collector. */
      default: z.prefault(AgentConfig, { apiVersion: 'podpulse.io/v1' }),
    }),
    {},
  ),
  /** The daemon's own limits; over them it logs why and exits with EXIT_SELF_LIMIT. */
  self: z.prefault(
    z.strictObject({
      maxRssMb: z._default(z.number().check(z.gte(16), z.lte(4096)), 192),
      maxCpuPercent: z._default(z.number().check(z.gte(1), z.lte(800)), 25),
      cpuSamples: z._default(z.number().check(z.int(), z.gte(1), z.lte(60)), 6),
    }),
    {},
  ),
  /** Where the container's cgroup files are (configurable so tests can point at a fake tree). */
  cgroupRoot: z._default(z.string().check(z.maxLength(4096)), '/sys/fs/cgroup'),
  health: z.prefault(
    z.strictObject({
      statusInterval: z._default(duration, '5s'),
      /** Opt-in localhost port serving GET /healthz; none by default. */
      port: z.optional(port),
    }),
    {},
  ),
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
