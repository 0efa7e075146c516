import type * as z from 'zod/mini';
import { CgroupSpec } from '../src/protocol/checks/system-specs.ts';
import type { ReasonCode } from '../src/protocol/codes.ts';
import { fail, ok, unknown, warn, type CheckContext, type CheckDefinition } from './check.ts';
import { detectVersion, readCgroup, type CgroupReading, type Psi } from './cgroup-read.ts';
import { errorMessage } from './error-code.ts';

type Spec = z.output<typeof CgroupSpec>;
type Thresholds = { warn?: number | undefined; fail?: number | undefined };
type Details = Record<string, string | number | boolean | null>;

interface Finding {
  status: 'warn' | 'fail';
  code: ReasonCode;
  message: string;
}

/** ctx.state keys: counters from the previous run, to report what changed since. */
const OOM_STATE = 'cgroup.oomKills';
const CPU_STATE = 'cgroup.cpuStat';

/**
 * `cgroup`: the pod's own resource pressure, from its cgroup (v1 or v2): memory working set against the limit,
 * OOM kills since the previous run, the share of CPU periods throttled since the previous run, PSI `avg10`
 * (v2), and tasks against pids.max. A value strictly above a threshold is a finding; the worst finding decides
 * (fail before warn, then in the order above), and details list every measured value. A signal whose files are
 * missing is skipped; when no signal can be read at all the result is NOT_SUPPORTED.
 */
export const cgroupCheck: CheckDefinition<'cgroup'> = {
  kind: 'cgroup',
  spec: CgroupSpec,
  paths: (spec) => [spec.root],
  async run(spec, ctx) {
    const version = await detectVersion(spec.root, spec.version);
    if (!version) return unknown('NOT_SUPPORTED', `no cgroup v1 or v2 hierarchy under ${spec.root}`);
    let r: CgroupReading;
    try {
      r = await readCgroup(spec.root, version, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', `aborted while reading ${spec.root}`);
      return unknown('CHECK_ERROR', `cannot read the cgroup under ${spec.root}: ${errorMessage(err)}`);
    }
    const nothing = !r.memory && r.oomKills === undefined && !r.cpu && !r.pids && !r.psi.cpu && !r.psi.memory && !r.psi.io;
    if (nothing) return unknown('NOT_SUPPORTED', `no readable cgroup ${version} files under ${spec.root}`);
    const details: Details = { version };
    const findings = [
      ...oomFindings(spec, r, ctx, details),
      ...memoryFindings(spec, r, details),
      ...psiFindings('memory', 'MEM_PRESSURE', spec.psi.memory, spec.psi.full, r.psi.memory, details),
      ...pidsFindings(spec, r, details),
      ...cpuFindings(spec, r, ctx, details),
      ...psiFindings('cpu', 'CPU_PRESSURE', spec.psi.cpu, spec.psi.full, r.psi.cpu, details),
      ...psiFindings('io', 'IO_PRESSURE', spec.psi.io, spec.psi.full, r.psi.io, details),
    ];
    const worst = findings.find((f) => f.status === 'fail') ?? findings[0];
    if (!worst) return ok();
    const others = findings.filter((f) => f !== worst).map((f) => f.code);
    if (others.length > 0) details.alsoFound = [...new Set(others)].join(',');
    return (worst.status === 'fail' ? fail : warn)(worst.code, worst.message, details);
  },
};

/** warn/fail for a value strictly above its thresholds. */
function judge(value: number, t: Thresholds | undefined, code: ReasonCode, what: string): Finding[] {
  if (t?.fail !== undefined && value > t.fail) return [{ status: 'fail', code, message: `${what}, above ${t.fail}` }];
  if (t?.warn !== undefined && value > t.warn) return [{ status: 'warn', code, message: `${what}, above ${t.warn}` }];
  return [];
}

function oomFindings(spec: Spec, r: CgroupReading, ctx: CheckContext, d: Details): Finding[] {
  if (!spec.oomKills || r.oomKills === undefined) return [];
  d.oomKills = r.oomKills;
  const previous = ctx.state.get(OOM_STATE) as number | undefined;
  ctx.state.set(OOM_STATE, r.oomKills);
  // The first run has nothing to compare with; a smaller count means the cgroup was recreated.
  if (previous === undefined || r.oomKills <= previous) return [];
  const added = r.oomKills - previous;
  d.oomKillsNew = added;
  return [{ status: 'fail', code: 'OOM_KILLED', message: `${added} process(es) OOM-killed in the cgroup since the previous run` }];
}

function memoryFindings(spec: Spec, r: CgroupReading, d: Details): Finding[] {
  if (!r.memory) return [];
  d.memoryUsageBytes = r.memory.usage;
  d.memoryLimitBytes = r.memory.limit;
  if (r.memory.limit === null || r.memory.limit === 0) return [];
  const ratio = round3(r.memory.usage / r.memory.limit);
  d.memoryRatio = ratio;
  return judge(ratio, spec.memoryRatio, 'MEM_PRESSURE', `memory use ${r.memory.usage} of ${r.memory.limit} bytes (${ratio})`);
}

function pidsFindings(spec: Spec, r: CgroupReading, d: Details): Finding[] {
  if (!r.pids) return [];
  d.pidsCurrent = r.pids.current;
  d.pidsMax = r.pids.max;
  if (r.pids.max === null || r.pids.max === 0) return [];
  const ratio = round3(r.pids.current / r.pids.max);
  return judge(ratio, spec.pidsRatio, 'PIDS_EXHAUSTED', `${r.pids.current} tasks of pids.max ${r.pids.max} (${ratio})`);
}

function cpuFindings(spec: Spec, r: CgroupReading, ctx: CheckContext, d: Details): Finding[] {
  if (!r.cpu) return [];
  const previous = ctx.state.get(CPU_STATE) as { periods: number; throttled: number } | undefined;
  ctx.state.set(CPU_STATE, r.cpu);
  if (!previous) return [];
  const periods = r.cpu.periods - previous.periods;
  const throttled = r.cpu.throttled - previous.throttled;
  // No periods elapsed: no CPU quota, or an idle cgroup; a counter that went back: the cgroup was recreated.
  if (periods <= 0 || throttled < 0) return [];
  const ratio = round3(throttled / periods);
  d.cpuThrottledRatio = ratio;
  return judge(ratio, spec.cpuThrottledRatio, 'CPU_THROTTLED', `${throttled} of ${periods} CPU periods throttled since the previous run (${ratio})`);
}

function psiFindings(resource: 'cpu' | 'memory' | 'io', code: ReasonCode, t: Thresholds | undefined, full: boolean, psi: Psi | undefined, d: Details): Finding[] {
  if (!psi) return [];
  const key = `psi${resource[0]!.toUpperCase()}${resource.slice(1)}`;
  const out: Finding[] = [];
  if (psi.some !== undefined) {
    d[`${key}Some`] = psi.some;
    out.push(...judge(psi.some, t, code, `${resource} pressure some avg10 ${psi.some}%`));
  }
  if (full && psi.full !== undefined) {
    d[`${key}Full`] = psi.full;
    out.push(...judge(psi.full, t, code, `${resource} pressure full avg10 ${psi.full}%`));
  }
  return out.sort((a, b) => (a.status === b.status ? 0 : a.status === 'fail' ? -1 : 1));
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
