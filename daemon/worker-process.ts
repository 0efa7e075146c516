import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import type { Logger } from '../src/log/logger.ts';
import type { DaemonToWorker, WorkerToDaemon } from '../src/ipc.ts';

/** How to start one worker process. */
export interface WorkerSpawnOptions {
  /** The worker bundle (`versions/<v>/worker.mjs` or the baked one). */
  entry: string;
  /** The version this entry is believed to be (what the daemon reports until the worker says otherwise). */
  version: string;
  env: NodeJS.ProcessEnv;
  /** Node flags for the worker; the daemon's own execArgv is never inherited. */
  execArgv?: readonly string[] | undefined;
  log: Logger;
  /** Written to /proc/<pid>/oom_score_adj so the kernel picks the worker first under memory pressure. */
  oomScoreAdj?: number | undefined;
}

/** Why a worker ended: its exit code or signal, and whether the daemon asked it to. */
export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  requested: boolean;
  ranMs: number;
}

/**
 * One forked worker: its own process group (detached), an IPC channel, stdout/stderr drained into the daemon's
 * log so a full pipe never blocks it. Events: `message` (WorkerToDaemon), `exit` (WorkerExit).
 */
export class WorkerProcess extends EventEmitter<{ message: [WorkerToDaemon]; exit: [WorkerExit] }> {
  readonly entry: string;
  readonly version: string;
  readonly startedAt = Date.now();
  readonly #child: ChildProcess;
  readonly #log: Logger;
  #exited: WorkerExit | undefined;
  #exitWaiters: ((e: WorkerExit) => void)[] = [];
  #stopRequested = false;
  /** Messages waiting because send() reported backpressure; sent in order once the channel drains. */
  #queue: DaemonToWorker[] = [];
  #sending = false;
  ready: Extract<WorkerToDaemon, { type: 'ready' }> | undefined;

  constructor(opts: WorkerSpawnOptions) {
    super();
    this.entry = opts.entry;
    this.version = opts.version;
    this.#child = fork(opts.entry, [], {
      env: opts.env,
      execArgv: [...(opts.execArgv ?? [])],
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.#log = opts.log.child({ workerPid: this.#child.pid, workerVersion: opts.version });
    this.#drain(this.#child.stdout, 'stdout');
    this.#drain(this.#child.stderr, 'stderr');
    this.#child.on('message', (m) => {
      if (!m || typeof m !== 'object' || typeof (m as { type?: unknown }).type !== 'string') return;
      const msg = m as WorkerToDaemon;
      if (msg.type === 'ready') this.ready = msg;
      this.emit('message', msg);
    });
    // An IPC write to a dead worker is not the daemon's problem; the exit event says what happened.
    this.#child.on('error', (err) => this.#log.warn({ err }, 'worker process error'));
    this.#child.on('exit', (code, signal) => {
      this.#exited = { code, signal, requested: this.#stopRequested, ranMs: Date.now() - this.startedAt };
      // The group may still hold the worker's own children (a check's helper); nothing of it outlives the worker.
      killGroup(this.#child.pid, 'SIGKILL');
      for (const w of this.#exitWaiters) w(this.#exited);
      this.#exitWaiters = [];
      this.emit('exit', this.#exited);
    });
    if (opts.oomScoreAdj !== undefined && this.#child.pid !== undefined) {
      writeFile(`/proc/${this.#child.pid}/oom_score_adj`, String(opts.oomScoreAdj)).catch((err: unknown) =>
        this.#log.debug({ err }, 'cannot raise the worker oom_score_adj'),
      );
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get exited(): WorkerExit | undefined {
    return this.#exited;
  }

  /** Sends over IPC, queueing while the channel reports backpressure (send() returned false). */
  send(msg: DaemonToWorker): void {
    if (this.#exited || !this.#child.connected) return;
    this.#queue.push(msg);
    this.#pump();
  }

  #pump(): void {
    if (this.#sending) return;
    while (this.#queue.length > 0 && this.#child.connected) {
      const msg = this.#queue.shift()!;
      let drained: boolean;
      try {
        drained = this.#child.send(msg, (err) => {
          if (err) this.#log.debug({ err }, 'IPC send failed');
          if (!drained) {
            this.#sending = false;
            this.#pump();
          }
        });
      } catch (err) {
        this.#log.debug({ err }, 'IPC send failed');
        return;
      }
      if (!drained) {
        // Node buffered it; wait for its callback before writing more, so a stuck worker cannot grow our heap.
        this.#sending = true;
        return;
      }
    }
  }

  /** Resolves when the worker exits (at once when it already has). */
  waitExit(): Promise<WorkerExit> {
    if (this.#exited) return Promise.resolve(this.#exited);
    return new Promise((resolve) => this.#exitWaiters.push(resolve));
  }

  /**
   * Stops the worker: IPC `stop` (flush the spool), SIGTERM to its group at half the grace, SIGKILL at the grace.
   * Resolves with how it exited; never takes longer than graceMs plus the time the kernel needs to reap it.
   */
  async stop(graceMs: number): Promise<WorkerExit> {
    if (this.#exited) return this.#exited;
    this.#stopRequested = true;
    const exit = this.waitExit();
    this.send({ type: 'stop', graceMs: Math.max(100, Math.floor(graceMs * 0.5) - 100) });
    const term = setTimeout(() => killGroup(this.#child.pid, 'SIGTERM'), Math.floor(graceMs * 0.6));
    const kill = setTimeout(() => killGroup(this.#child.pid, 'SIGKILL'), graceMs);
    try {
      return await exit;
    } finally {
      clearTimeout(term);
      clearTimeout(kill);
    }
  }

  /** Kills the worker's group at once (breaker trip, failed candidate). */
  kill(): Promise<WorkerExit> {
    this.#stopRequested = true;
    killGroup(this.#child.pid, 'SIGKILL');
    return this.waitExit();
  }

  #drain(stream: NodeJS.ReadableStream | null, name: string): void {
    if (!stream) return;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      // The worker logs JSON lines itself; pass them through to our stdout unchanged (one log stream per pod).
      for (const line of lines) if (line) process.stdout.write(`${line}\n`);
      if (partial.length > 16_384) partial = '';
    });
    stream.on('error', (err) => this.#log.debug({ err, stream: name }, 'worker stream error'));
  }
}

/** Signals a whole process group; a group already gone is fine. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}
