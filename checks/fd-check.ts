import { opendir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FdSpec } from '../src/protocol/checks/system-specs.ts';
import { fail, ok, unknown, warn, type CheckDefinition, type Outcome } from './check.ts';
import { errorCode, errorMessage } from './error-code.ts';
import { findProcesses } from './process-match.ts';

/** One process's descriptors against its soft limit; limit null = unlimited. */
interface FdUse {
  pid: string;
  open: number;
  limit: number | null;
}

/**
 * `fd`: open file descriptors of the worker itself (`self`) or of every matched process, against the soft
 * `Max open files` in /proc/<pid>/limits (the limit that EMFILE enforces). The process closest to its limit
 * decides; an unlimited soft limit is never a finding. A ratio strictly above a threshold is a finding.
 */
export const fdCheck: CheckDefinition<'fd'> = {
  kind: 'fd',
  spec: FdSpec,
  paths: (spec) => [spec.procRoot],
  async run(spec, ctx) {
    let pids: string[];
    if (spec.target === 'self') {
      pids = ['self'];
    } else {
      try {
        pids = (await findProcesses(spec.procRoot, spec.target.process, ctx.signal)).matches.map((p) => String(p.pid));
      } catch (err) {
        if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', `aborted while scanning ${spec.procRoot}`);
        return unknown('CHECK_ERROR', `cannot scan ${spec.procRoot}: ${errorMessage(err)}`);
      }
      if (pids.length === 0) return unknown('CHECK_MISCONFIGURED', 'no process matches the fd target');
    }
    let worst: FdUse | undefined;
    for (const pid of pids) {
      let use: FdUse | undefined;
      try {
        use = await fdUse(spec.procRoot, pid, ctx.signal);
      } catch (err) {
        if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', `aborted while reading ${spec.procRoot}/${pid}`);
        const code = errorCode(err);
        if (code === 'ENOENT' || code === 'ESRCH') continue; // exited since the scan
        return unknown('NOT_SUPPORTED', `cannot read the descriptors of ${pid}: ${code ?? errorMessage(err)} (same user or CAP_SYS_PTRACE needed)`);
      }
      if (use && ratioOf(use) > (worst ? ratioOf(worst) : -1)) worst = use;
    }
    if (!worst) return unknown('CHECK_MISCONFIGURED', 'no matched process could be read');
    return judge(worst, spec.warnRatio, spec.failRatio);
  },
};

async function fdUse(procRoot: string, pid: string, signal: AbortSignal): Promise<FdUse | undefined> {
  const limits = await readFile(path.join(procRoot, pid, 'limits'), { encoding: 'utf8', signal });
  const limit = softOpenFiles(limits);
  if (limit === undefined) return undefined;
  // Count without building an array: a leaking process may hold hundreds of thousands of descriptors. For `self`
  // the directory handle of this very listing is counted too: one descriptor of slack, not worth special-casing.
  let open = 0;
  for await (const _ of await opendir(path.join(procRoot, pid, 'fd'), { bufferSize: 256 })) open++;
  return { pid, open, limit };
}

/** The soft limit from a `Max open files  <soft>  <hard>  files` line; null for unlimited. */
export function softOpenFiles(limits: string): number | null | undefined {
  const m = /^Max open files\s+(\S+)\s+\S+/m.exec(limits);
  if (!m) return undefined;
  if (m[1] === 'unlimited') return null;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : undefined;
}

const ratioOf = (u: FdUse) => (u.limit === null ? 0 : u.limit === 0 ? 1 : u.open / u.limit);

function judge(use: FdUse, warnRatio: number, failRatio: number): Outcome {
  if (use.limit === null) return ok();
  const ratio = ratioOf(use);
  const details = { pid: use.pid, openFds: use.open, softLimit: use.limit, ratio: Math.round(ratio * 1000) / 1000 };
  const what = `process ${use.pid} has ${use.open} open descriptors of a soft limit of ${use.limit}`;
  if (ratio > failRatio) return fail('FD_EXHAUSTION', `${what} (over ${failRatio * 100}%)`, details);
  if (ratio > warnRatio) return warn('FD_EXHAUSTION', `${what} (over ${warnRatio * 100}%)`, details);
  return ok();
}
