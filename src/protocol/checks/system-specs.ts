import * as z from 'zod/mini';
import { absolutePath, byteSize, port, ratio, regexText, str } from '../common.ts';

// Built on first parse, like every kind's spec (network-specs.ts).

/** `env`: required variables, optionally matching a pattern; values are never reported. */
export const EnvSpec = z.lazy(() => z.strictObject({
  required: z
    .array(z.strictObject({ name: z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name')), pattern: z.optional(regexText) }))
    .check(z.minLength(1), z.maxLength(64)),
}));

const thresholds = () => z.strictObject({ warn: z.optional(z.number().check(z.gte(0))), fail: z.optional(z.number().check(z.gte(0))) });

/** `cgroup`: memory, OOM kills, CPU throttling, PSI, pids; paths configurable for fixture trees. */
export const CgroupSpec = z.lazy(() => z.strictObject({
  root: z._default(absolutePath, '/sys/fs/cgroup'),
  version: z._default(z.enum(['auto', 'v1', 'v2']), 'auto'),
  memoryRatio: z._default(thresholds(), { warn: 0.85, fail: 0.95 }),
  oomKills: z._default(z.boolean(), true),
  cpuThrottledRatio: z._default(thresholds(), { warn: 0.25, fail: 0.5 }),
  /** PSI `some avg10` (and `full avg10` where given), in percent. */
  psi: z._default(
    z.strictObject({ cpu: z.optional(thresholds()), memory: z.optional(thresholds()), io: z.optional(thresholds()), full: z._default(z.boolean(), false) }),
    { cpu: { warn: 50, fail: 90 }, memory: { warn: 20, fail: 50 }, io: { warn: 30, fail: 70 }, full: false },
  ),
  pidsRatio: z._default(thresholds(), { warn: 0.8, fail: 0.95 }),
}));

const processMatch = () => z
  .strictObject({ name: z.optional(str(64, 1)), cmdline: z.optional(regexText) })
  .check(z.refine((m: { name?: string | undefined; cmdline?: string | undefined }) => m.name !== undefined || m.cmdline !== undefined, 'give name, cmdline, or both'));

/** `process`: a matching process exists (shared PID namespace), and zombies stay few. */
export const ProcessSpec = z.lazy(() => z.strictObject({
  match: processMatch(),
  min: z._default(z.number().check(z.int(), z.gte(0)), 1),
  max: z.optional(z.number().check(z.int(), z.gte(1))),
  warnZombies: z.optional(z.number().check(z.int(), z.gte(0))),
  failZombies: z.optional(z.number().check(z.int(), z.gte(0))),
  procRoot: z._default(absolutePath, '/proc'),
}));

/** `port`: a local TCP port is in LISTEN state (read from /proc/net/tcp and tcp6; no connection made). */
export const PortSpec = z.lazy(() => z.strictObject({
  port,
  procNet: z._default(absolutePath, '/proc/net'),
}));

/** `exec`: a program run without a shell; exit 0/1/2 → ok/fail/unknown. */
export const ExecSpec = z.lazy(() => z.strictObject({
  argv: z.array(str(4096, 1)).check(z.minLength(1), z.maxLength(64)),
  env: z.optional(z.record(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/)), str(4096))),
  cwd: z.optional(absolutePath),
  maxOutput: z._default(byteSize, 4096),
}));

/** `fd`: open descriptors against the soft limit, of the worker itself or of a matched process. */
export const FdSpec = z.lazy(() => z.strictObject({
  target: z._default(z.union([z.literal('self'), z.strictObject({ process: processMatch() })]), 'self'),
  warnRatio: z._default(ratio, 0.8),
  failRatio: z._default(ratio, 0.95),
  procRoot: z._default(absolutePath, '/proc'),
}));
