import { rm } from 'node:fs/promises';
import type { CollectorClient } from '../src/agent/collector-client.ts';
import type { Logger } from '../src/log/logger.ts';
import type { DesiredRelease } from '../src/protocol/agent-config.ts';
import type { AgentState } from '../src/protocol/heartbeat.ts';
import { verifyRelease, type ReleasePublicKey } from '../src/release/signing.ts';
import { downloadRelease } from './download-release.ts';
import { installBundle, versionsDir, workerEntry } from './release-store.ts';
import { saveUpdateState, type UpdateState } from './update-state.ts';
import type { WorkerProcess } from './worker-process.ts';

export type UpdateStatus = NonNullable<AgentState['update']>;

export interface UpdaterOptions {
  stateDir: string;
  log: Logger;
  state: UpdateState;
  /** The version running now (the current build, else the baked one). */
  runningVersion: () => string;
  keys: () => readonly ReleasePublicKey[];
  limits: () => { downloadTimeoutMs: number; maxDownloadBytes: number; readyDeadlineMs: number; updateGraceMs: number };
  client?: { client: CollectorClient; baseUrl: string } | undefined;
  /** Forks a candidate worker from `entry` and sends it the config; it is not yet supervised. */
  startCandidate: (entry: string, version: string) => WorkerProcess;
  /** Makes the proven candidate the supervised worker and stops the old one. */
  adopt: (w: WorkerProcess) => Promise<void>;
  /** Whether an update may start now (not while the breaker is open or the daemon is stopping). */
  allowed: () => boolean;
  onStatus: (s: UpdateStatus) => void;
}

/**
 * Hot update of the worker from the DesiredRelease in the config: download, verify sha256 and the ed25519
 * signature against the LOCAL keys, install atomically, start the new worker beside the old one, require `ready`
 * and a first delivered heartbeat, then stop the old one. Any failure keeps the old worker and marks the build bad.
 */
export class Updater {
  readonly #opts: UpdaterOptions;
  #busy: Promise<void> | undefined;
  #candidate: WorkerProcess | undefined;
  status: UpdateStatus;

  constructor(opts: UpdaterOptions) {
    this.#opts = opts;
    this.status = { current: opts.runningVersion(), status: 'idle' };
  }

  get state(): UpdateState {
    return this.#opts.state;
  }

  get busy(): boolean {
    return this.#busy !== undefined;
  }

  /** The entry and version the supervisor should fork: the proven current build. */
  currentBuild(): { entry: string; version: string } | undefined {
    const c = this.#opts.state.current;
    return c ? { entry: workerEntry(this.#opts.stateDir, c.version), version: c.version } : undefined;
  }

  /** Looks at the desired release; starts an update when it differs from what runs and is not known bad. */
  consider(release: DesiredRelease | undefined): Promise<void> | undefined {
    if (this.#busy || !release || !this.#opts.allowed()) return this.#busy;
    const running = this.#opts.runningVersion();
    if (release.version === running && (this.#opts.state.current?.sha256 ?? release.sha256) === release.sha256) {
      if (this.status.desired !== release.version || this.status.status === 'installing') this.#setStatus({ desired: release.version, current: running, status: 'idle' });
      return undefined;
    }
    const bad = this.#opts.state.bad[release.version];
    if (bad && bad.sha256 === release.sha256) return undefined;
    this.#busy = this.#update(release).finally(() => (this.#busy = undefined));
    return this.#busy;
  }

  /** Kills a candidate still on probation (the daemon is stopping). */
  async abort(): Promise<void> {
    await this.#candidate?.kill();
  }

  async #update(r: DesiredRelease): Promise<void> {
    const log = this.#opts.log.child({ release: r.version, sha256: r.sha256 });
    const from = this.#opts.runningVersion();
    const limits = this.#opts.limits();
    this.#setStatus({ desired: r.version, current: from, status: 'installing' });
    log.info({ from }, 'updating the worker');
    let tmp: string | undefined;
    let stage: 'download' | 'probation' = 'download';
    try {
      const sig = verifyRelease(r, r.signature, this.#opts.keys(), r.keyId);
      if (!sig.ok) throw new Error(`signature refused: ${sig.error}`);
      const dl = await downloadRelease({ url: r.url, tmpDir: versionsDir(this.#opts.stateDir), timeoutMs: limits.downloadTimeoutMs, maxBytes: limits.maxDownloadBytes, client: this.#opts.client });
      tmp = dl.path;
      if (dl.sha256 !== r.sha256) throw new Error(`sha256 mismatch: downloaded ${dl.sha256}, release says ${r.sha256}`);
      const pending = { version: r.version, sha256: r.sha256, attempts: (this.#opts.state.pending?.version === r.version ? this.#opts.state.pending.attempts : 0) + 1 };
      this.#opts.state.desired = { version: r.version, sha256: r.sha256 };
      this.#opts.state.pending = pending;
      await saveUpdateState(this.#opts.stateDir, this.#opts.state);
      const entry = await installBundle(this.#opts.stateDir, r.version, dl.path);
      stage = 'probation';
      const started = Date.now();
      const w = this.#opts.startCandidate(entry, r.version);
      this.#candidate = w;
      const probation = await this.#probation(w, limits.readyDeadlineMs, limits.updateGraceMs);
      const adoptStart = Date.now();
      await this.#opts.adopt(w);
      const stopOldMs = Date.now() - adoptStart;
      const old = this.#opts.state.current;
      this.#opts.state.previous = old ?? this.#opts.state.previous;
      this.#opts.state.current = { version: r.version, sha256: r.sha256 };
      delete this.#opts.state.pending;
      await saveUpdateState(this.#opts.stateDir, this.#opts.state);
      log.info({ from, swapMs: Date.now() - started, readyMs: probation.readyMs, firstBeatMs: probation.firstBeatMs, stopOldMs }, 'worker updated');
      this.#setStatus({ desired: r.version, current: r.version, status: 'installed' });
    } catch (err) {
      const error = (err as Error).message.slice(0, 500);
      await this.#candidate?.kill();
      this.#opts.state.bad[r.version] = { sha256: r.sha256, error };
      delete this.#opts.state.pending;
      await saveUpdateState(this.#opts.stateDir, this.#opts.state).catch((e: unknown) => log.error({ err: e }, 'cannot write the state file'));
      log.error({ error, stage }, stage === 'probation' ? 'update rolled back; the old worker keeps running' : 'update refused; the old worker keeps running');
      this.#setStatus({ desired: r.version, current: this.#opts.runningVersion(), status: stage === 'probation' ? 'rolled-back' : 'failed', error });
    } finally {
      this.#candidate = undefined;
      if (tmp) await rm(tmp, { force: true });
    }
  }

  /** Resolves once the candidate said ready and then delivered a heartbeat (with how long each took); rejects on exit or deadline. */
  #probation(w: WorkerProcess, readyMs: number, graceMs: number): Promise<{ readyMs: number; firstBeatMs: number }> {
    const t0 = Date.now();
    let readyAt = t0;
    return new Promise((resolve, reject) => {
      let phase: 'ready' | 'heartbeat' = 'ready';
      let timer = setTimeout(() => done(new Error(`new worker never said ready within ${readyMs}ms`)), readyMs);
      const onMsg = (m: { type: string }): void => {
        if (m.type === 'ready' && phase === 'ready') {
          phase = 'heartbeat';
          readyAt = Date.now();
          clearTimeout(timer);
          timer = setTimeout(() => done(new Error(`new worker delivered no heartbeat within ${graceMs}ms of ready`)), graceMs);
        } else if (m.type === 'heartbeat-delivered' && phase === 'heartbeat') done();
      };
      const onExit = (e: { code: number | null; signal: string | null }): void => done(new Error(`new worker exited during ${phase === 'ready' ? 'start' : 'probation'} (code ${e.code}, signal ${e.signal})`));
      const done = (err?: Error): void => {
        clearTimeout(timer);
        w.off('message', onMsg);
        w.off('exit', onExit);
        if (err) reject(err);
        else resolve({ readyMs: readyAt - t0, firstBeatMs: Date.now() - readyAt });
      };
      w.on('message', onMsg);
      w.on('exit', onExit);
      if (w.ready) onMsg({ type: 'ready' });
    });
  }

  #setStatus(s: UpdateStatus): void {
    this.status = s;
    this.#opts.onStatus(s);
  }
}
