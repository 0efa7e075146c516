import { spawn } from 'node:child_process';
import { killGroup } from './worker-process.ts';

/** What one run produced; the caller adds the command id and status mapping. */
export interface RunOutcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  startedAt: Date;
  finishedAt: Date;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  spawnError?: string;
}

class Capped {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #size = 0;
  truncated = false;

  constructor(max: number) {
    this.#max = max;
  }

  push(chunk: Buffer): void {
    const room = this.#max - this.#size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    if (chunk.length > room) {
      this.truncated = true;
      chunk = chunk.subarray(0, room);
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

/**
 * Runs argv without a shell in its own process group, as the sidecar's user, with stdin closed. On timeout the
 * whole group gets SIGKILL (a command's children die with it). Output beyond `maxBytes` per stream is read and
 * dropped, so a chatty command never blocks on a full pipe, and the result says it was truncated.
 */
export function runCommand(argv: readonly string[], opts: { timeoutMs: number; maxBytes: number; env?: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<RunOutcome> {
  const startedAt = new Date();
  const out = new Capped(opts.maxBytes);
  const err = new Capped(opts.maxBytes);
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { shell: false, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    let timedOut = false;
    let spawnError: string | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, opts.timeoutMs);
    const onAbort = (): void => killGroup(child.pid, 'SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      spawnError = e.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      // Whatever the leader did, nothing of the group outlives the command.
      killGroup(child.pid, 'SIGKILL');
      const r: RunOutcome = {
        exitCode: code,
        signal,
        timedOut,
        startedAt,
        finishedAt: new Date(),
        stdout: out.text(),
        stderr: err.text(),
        stdoutTruncated: out.truncated,
        stderrTruncated: err.truncated,
      };
      if (spawnError !== undefined) r.spawnError = spawnError;
      resolve(r);
    });
  });
}
