import { EventEmitter } from 'node:events';
import type { Logger } from '../src/log/logger.ts';
import type { WorkerToDaemon } from '../src/ipc.ts';
import { restartDelay, type RestartPolicy } from './restart-backoff.ts';
import type { WorkerProcess } from './worker-process.ts';

/** The supervised worker's state as the daemon reports it (a subset of WORKER_STATES). */
export type SupervisedState = 'starting' | 'running' | 'down' | 'crashloop' | 'stopped';

export interface SupervisorOptions {
  log: Logger;
  /** Forks the worker the daemon should run now (current version, else the baked one). */
  spawn: () => WorkerProcess;
  policy: () => RestartPolicy & { readyDeadlineMs: number; stopGraceMs: number };
  random?: () => number;
}

/**
 * Keeps one worker running: ready handshake with a deadline (a worker that never says ready has failed),
 * restart on exit with exponential backoff and jitter, and a visible `crashloop` state instead of an exit of the
 * daemon (which would put the pod into CrashLoopBackOff).
 */
export class Supervisor extends EventEmitter<{
  state: [SupervisedState];
  spawned: [WorkerProcess];
  ready: [WorkerProcess];
  message: [WorkerToDaemon, WorkerProcess];
}> {
  readonly #opts: SupervisorOptions;
  #current: WorkerProcess | undefined;
  #state: SupervisedState = 'stopped';
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #readyTimer: NodeJS.Timeout | undefined;
  /** Set while the breaker holds the worker down or the daemon is stopping: exits are expected, no restart. */
  #suspended: string | undefined = 'not started';
  lastExit: { code: number | null; signal: string | null; at: number } | undefined;

  constructor(opts: SupervisorOptions) {
    super();
    this.#opts = opts;
  }

  get state(): SupervisedState {
    return this.#state;
  }

  get current(): WorkerProcess | undefined {
    return this.#current;
  }

  get failures(): number {
    return this.#failures;
  }

  /** Starts (or resumes after the breaker) the worker now. */
  start(): void {
    this.#suspended = undefined;
    clearTimeout(this.#restartTimer);
    if (this.#current && !this.#current.exited) return;
    this.#spawn();
  }

  /** Kills the worker and keeps it down until start() (the breaker's trip). */
  async suspend(reason: string): Promise<void> {
    this.#suspended = reason;
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#readyTimer);
    const w = this.#current;
    this.#setState('down');
    if (w) await w.kill();
  }

  /** Stops for good: IPC stop, SIGTERM, SIGKILL within the grace. */
  async stop(graceMs: number): Promise<void> {
    this.#suspended = 'stopping';
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#readyTimer);
    const w = this.#current;
    if (w) await w.stop(graceMs);
    this.#setState('stopped');
  }

  /**
   * Makes an already ready worker (an update candidate) the supervised one and stops the previous one gracefully.
   * The new one is beating before the old one is asked to stop, so the swap leaves no heartbeat gap.
   */
  async adopt(next: WorkerProcess): Promise<void> {
    const old = this.#current;
    clearTimeout(this.#readyTimer);
    this.#attach(next);
    this.#failures = 0;
    this.#setState('running');
    if (old && old !== next) await old.stop(this.#opts.policy().stopGraceMs);
  }

  #spawn(): void {
    let w: WorkerProcess;
    this.#setState(this.#failures >= this.#opts.policy().crashloopAfter ? 'crashloop' : 'starting');
    try {
      w = this.#opts.spawn();
    } catch (err) {
      this.#opts.log.error({ err }, 'cannot start the worker');
      this.#onFailure();
      return;
    }
    this.#attach(w);
    this.emit('spawned', w);
    const deadline = this.#opts.policy().readyDeadlineMs;
    this.#readyTimer = setTimeout(() => {
      if (this.#current !== w || w.ready || w.exited) return;
      this.#opts.log.warn({ workerPid: w.pid, deadlineMs: deadline }, 'worker never said ready within the deadline; killing it');
      void w.kill();
    }, deadline);
  }

  #attach(w: WorkerProcess): void {
    this.#current = w;
    w.on('message', (msg) => {
      if (this.#current !== w) return;
      if (msg.type === 'ready') {
        clearTimeout(this.#readyTimer);
        this.#setState('running');
        this.emit('ready', w);
      }
      this.emit('message', msg, w);
    });
    w.on('exit', (e) => {
      if (this.#current !== w) return;
      this.lastExit = { code: e.code, signal: e.signal, at: Date.now() };
      if (this.#suspended !== undefined) return;
      const policy = this.#opts.policy();
      // A worker that ran healthy long enough earns a fresh backoff; this exit is then the first failure.
      if (w.ready && e.ranMs >= policy.resetAfterMs) this.#failures = 0;
      this.#opts.log.warn({ code: e.code, signal: e.signal, ranMs: e.ranMs, ready: !!w.ready }, 'worker exited');
      this.#onFailure();
    });
  }

  #onFailure(): void {
    this.#failures++;
    const policy = this.#opts.policy();
    const delay = restartDelay(policy, this.#failures, this.#opts.random);
    const crashloop = this.#failures >= policy.crashloopAfter;
    this.#setState(crashloop ? 'crashloop' : 'down');
    if (crashloop && this.#failures === policy.crashloopAfter) this.#opts.log.error({ failures: this.#failures }, 'worker is crash-looping; restarts go on with backoff');
    this.#opts.log.info({ failures: this.#failures, delayMs: delay }, 'restarting the worker after backoff');
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      if (this.#suspended === undefined) this.#spawn();
    }, delay);
  }

  #setState(s: SupervisedState): void {
    if (s === this.#state) return;
    this.#state = s;
    this.emit('state', s);
  }
}
