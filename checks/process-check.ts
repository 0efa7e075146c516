import { ProcessSpec } from '../src/protocol/checks/system-specs.ts';
import { boundedText } from './bounded-text.ts';
import { fail, ok, unknown, warn, type CheckDefinition } from './check.ts';
import { errorCode, errorMessage } from './error-code.ts';
import { findProcesses, type ProcInfo } from './process-match.ts';

const MAX_LISTED = 8;

/**
 * `process`: between `min` and `max` live processes match (needs a PID namespace shared with the app), and the
 * number of zombies in the namespace stays at or under the thresholds: zombies pile up when nothing reaps them
 * (no init such as tini in the pod).
 */
export const processCheck: CheckDefinition<'process'> = {
  kind: 'process',
  spec: ProcessSpec,
  paths: (spec) => [spec.procRoot],
  async run(spec, ctx) {
    let found: { matches: ProcInfo[]; all: ProcInfo[] };
    try {
      found = await findProcesses(spec.procRoot, spec.match, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', `aborted while scanning ${spec.procRoot}`);
      if (errorCode(err) === 'ENOENT') return unknown('NOT_SUPPORTED', `${spec.procRoot} does not exist`);
      return unknown('CHECK_ERROR', `cannot scan ${spec.procRoot}: ${errorMessage(err)}`);
    }
    const { matches, all } = found;
    const zombies = all.filter((p) => p.state === 'Z');
    const details = {
      matched: matches.length,
      pids: pidList(matches),
      zombies: zombies.length,
      zombiePids: pidList(zombies),
    };
    const what = describe(spec.match);
    if (matches.length < spec.min) return fail('PROCESS_MISSING', `${matches.length} processes match ${what}, fewer than ${spec.min}`, details);
    if (spec.max !== undefined && matches.length > spec.max)
      return fail('PROCESS_COUNT', `${matches.length} processes match ${what}, more than ${spec.max}`, details);
    if (spec.failZombies !== undefined && zombies.length > spec.failZombies)
      return fail('PROCESS_ZOMBIES', `${zombies.length} zombie processes, more than ${spec.failZombies}`, details);
    if (spec.warnZombies !== undefined && zombies.length > spec.warnZombies)
      return warn('PROCESS_ZOMBIES', `${zombies.length} zombie processes, more than ${spec.warnZombies}`, details);
    return ok();
  },
};

function pidList(ps: readonly ProcInfo[]): string {
  const shown = ps.slice(0, MAX_LISTED).map((p) => p.pid);
  return ps.length > MAX_LISTED ? `${shown.join(',')},…` : shown.join(',');
}

function describe(match: { name?: string | undefined; cmdline?: string | undefined }): string {
  const parts = [match.name !== undefined ? `name ${JSON.stringify(match.name)}` : '', match.cmdline !== undefined ? `cmdline /${boundedText(match.cmdline, 80)}/` : ''];
  return parts.filter(Boolean).join(' and ');
}
