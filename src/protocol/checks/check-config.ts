import * as z from 'zod/mini';
import { duration, identifier } from '../common.ts';
import { CgroupSpec, EnvSpec, ExecSpec, FdSpec, PortSpec, ProcessSpec } from './system-specs.ts';
import { DiskSpec, FileSpec, MountSpec } from './filesystem-specs.ts';
import { ClockSpec, DnsSpec, HttpSpec, TcpSpec, TlsSpec } from './network-specs.ts';

/** The spec schema of every check kind protocol v1 knows. The worker's check registry mirrors these keys. */
export const CHECK_SPECS = {
  dns: DnsSpec,
  tcp: TcpSpec,
  http: HttpSpec,
  tls: TlsSpec,
  disk: DiskSpec,
  mount: MountSpec,
  file: FileSpec,
  env: EnvSpec,
  clock: ClockSpec,
  cgroup: CgroupSpec,
  process: ProcessSpec,
  port: PortSpec,
  exec: ExecSpec,
  fd: FdSpec,
} as const;

export type CheckKind = keyof typeof CHECK_SPECS;
export const CHECK_KINDS = Object.keys(CHECK_SPECS) as [CheckKind, ...CheckKind[]];
export type CheckSpec<K extends CheckKind> = z.output<(typeof CHECK_SPECS)[K]>;

function entry<K extends CheckKind>(kind: K) {
  return z.strictObject({
    id: identifier,
    kind: z.literal(kind),
    /** Defaults to the config's `defaults.interval` / `defaults.timeout`. */
    interval: z.optional(duration),
    timeout: z.optional(duration),
    spec: CHECK_SPECS[kind],
  });
}

/** One configured check: an id, its kind, schedule, and the spec of that kind. */
export const CheckConfig = z.discriminatedUnion('kind', [
  entry('dns'),
  entry('tcp'),
  entry('http'),
  entry('tls'),
  entry('disk'),
  entry('mount'),
  entry('file'),
  entry('env'),
  entry('clock'),
  entry('cgroup'),
  entry('process'),
  entry('port'),
  entry('exec'),
  entry('fd'),
]);
export type CheckConfig = z.output<typeof CheckConfig>;
export type CheckConfigInput = z.input<typeof CheckConfig>;
