import { z } from 'zod';
import { absolutePath, byteSize, port, ratio, regexText, str } from '../common.ts';

/** `env`: required variables, optionally matching a pattern; values are never reported. */
export const EnvSpec = z.strictObject({
  required: z
    .array(z.strictObject({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name'), pattern: regexText.optional() }))
    .min(1)
    .max(64),
});

const thresholds = z.strictObject({ warn: z.number().min(0).optional(), fail: z.number().min(0).optional() });

/** `cgroup`: memory, OOM kills, CPU throttling, PSI, pids; paths configurable for fixture trees. */
export const CgroupSpec = z.strictObject({
  root: absolutePath.default('/sys/fs/cgroup'),
  version: z.enum(['auto', 'v1', 'v2']).default('auto'),
  memoryRatio: thresholds.default({ warn: 0.85, fail: 0.95 }),
  oomKills: z.boolean().default(true),
  cpuThrottledRatio: thresholds.default({ warn: 0.25, fail: 0.5 }),
  /** PSI `some avg10` (and `full avg10` where given), in percent. */
  psi: z
    .strictObject({ cpu: thresholds.optional(), memory: thresholds.optional(), io: thresholds.optional(), full: z.boolean().default(false) })
    .default({ cpu: { warn: 50, fail: 90 }, memory: { warn: 20, fail: 50 }, io: { warn: 30, fail: 70 }, full: false }),
  pidsRatio: thresholds.default({ warn: 0.8, fail: 0.95 }),
});

const processMatch = z
  .strictObject({ name: str(64, 1).optional(), cmdline: regexText.optional() })
  .refine((m) => m.name !== undefined || m.cmdline !== undefined, 'give name, cmdline, or both');

/** `process`: a matching process exists (shared PID namespace), and zombies stay few. */
export const ProcessSpec = z.strictObject({
  match: processMatch,
  min: z.number().int().min(0).default(1),
  max: z.number().int().min(1).optional(),
  warnZombies: z.number().int().min(0).optional(),
  failZombies: z.number().int().min(0).optional(),
  procRoot: absolutePath.default('/proc'),
});

/** `port`: a local TCP port is in LISTEN state (read from /proc/net/tcp and tcp6; no connection made). */
export const PortSpec = z.strictObject({
  port,
  procNet: absolutePath.default('/proc/net'),
});

/** `exec`: a program run without a shell; exit 0/1/2 → ok/fail/unknown. */
export const ExecSpec = z.strictObject({
  argv: z.array(str(4096, 1)).min(1).max(64),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), str(4096)).optional(),
  cwd: absolutePath.optional(),
  maxOutput: byteSize.default(4096),
});

/** `fd`: open descriptors against the soft limit, of the worker itself or of a matched process. */
export const FdSpec = z.strictObject({
  target: z.union([z.literal('self'), z.strictObject({ process: processMatch })]).default('self'),
  warnRatio: ratio.default(0.8),
  failRatio: ratio.default(0.95),
  procRoot: absolutePath.default('/proc'),
});

