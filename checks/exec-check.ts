import { spawn, type ChildProcess } from 'node:child_process';
import type * as z from 'zod/mini';
import { ExecSpec } from '../src/protocol/checks/system-specs.ts';
import { parseBytes } from '../src/units.ts';
import { boundedText } from './bounded-text.ts';
import { fail, ok, unknown, type CheckContext, type CheckDefinition, type Outcome } from './check.ts';
import { errorCode, errorMessage } from './error-code.ts';

type Spec = z.output<typeof ExecSpec>;

/** The message is the first line of output, cut to this many characters. */
const MAX_MESSAGE = 200;
/** After the program exits, how long its output pipes may stay open (held by a child that escaped the group). */
const CLOSE_GRACE_MS = 1_000;

interface Run {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: unknown;
  killedAtDeadline: boolean;
  output: string;
  outputBytes: number;
  truncated: boolean;
}

/**
 * `exec`: runs a program without a shell, by the node-problem-detector plugin convention: exit 0 → ok, 1 → fail
 * (EXEC_FAILED), 2, any other code or a signal → unknown (EXEC_UNKNOWN). The program runs in its own process group
 * (`detached`), so at the deadline, and after it exits, the whole group is killed: a plugin that forks helpers
 * cannot leave them behind. Output (stdout and stderr, in arrival order) is kept up to maxOutput bytes; the rest is
 * read and dropped, so a chatty program never blocks on a full pipe. The environment is the worker's plus spec.env.
 */
export const execCheck: CheckDefinition<'exec'> = {
  kind: 'exec',
  spec: ExecSpec,
  async run(spec, ctx) {
    if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', 'the deadline passed before the program started');
    const r = await execute(spec, ctx);
    return judge(spec, r);
  },
};

function execute(spec: Spec, ctx: CheckContext): Promise<Run> {
  const [file, ...args] = spec.argv as [string, ...string[]];
  const cap = parseBytes(spec.maxOutput) ?? 4096;
  const chunks: Buffer[] = [];
  const run: Run = { exitCode: null, signal: null, killedAtDeadline: false, output: '', outputBytes: 0, truncated: false };
  let kept = 0;
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        cwd: spec.cwd,
        env: { ...ctx.env, ...spec.env },
        detached: true,
        shell: false,
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (err) {
      resolve({ ...run, spawnError: err });
      return;
    }
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const onAbort = () => {
      run.killedAtDeadline = true;
      killGroup();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const collect = (chunk: Buffer) => {
      run.outputBytes += chunk.length;
      if (kept + chunk.length > cap) run.truncated = true;
      if (kept >= cap) return;
      const part = chunk.subarray(0, cap - kept);
      chunks.push(part);
      kept += part.length;
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let grace: NodeJS.Timeout | undefined;
    child.on('exit', (code, sig) => {
      run.exitCode = code;
      run.signal = sig;
      killGroup();
      grace = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, CLOSE_GRACE_MS);
    });
    child.on('error', (err) => {
      // Spawn failures (ENOENT, EACCES) come here, with no exit; a kill failure does not end the run.
      if (child.pid === undefined) run.spawnError = err;
    });
    child.on('close', () => {
      clearTimeout(grace);
      ctx.signal.removeEventListener('abort', onAbort);
      run.output = Buffer.concat(chunks).toString('utf8');
      resolve(run);
    });
  });
}

function judge(spec: Spec, r: Run): Outcome {
  const program = boundedText(spec.argv[0] ?? '', 80);
  if (r.spawnError !== undefined) {
    const code = errorCode(r.spawnError);
    const why = `cannot run ${program}${spec.cwd ? ` in ${spec.cwd}` : ''}: ${code ?? errorMessage(r.spawnError)}`;
    return code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR' ? unknown('CHECK_MISCONFIGURED', why) : unknown('CHECK_ERROR', why);
  }
  const details = {
    exitCode: r.exitCode,
    signal: r.signal,
    outputBytes: r.outputBytes,
    truncated: r.truncated,
    output: r.output,
  };
  if (r.killedAtDeadline) return unknown('CHECK_TIMEOUT', `${program} was still running at the deadline; its process group was killed`, details);
  const line = firstLine(r.output);
  if (r.exitCode === 0) return ok();
  if (r.exitCode === 1) return fail('EXEC_FAILED', line || `${program} exited 1`, details);
  const how = r.signal ? `was killed by ${r.signal}` : `exited ${r.exitCode}`;
  return unknown('EXEC_UNKNOWN', line || `${program} ${how}`, details);
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return boundedText(line.trim(), MAX_MESSAGE);
}
