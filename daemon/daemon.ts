import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CollectorClient } from '../src/agent/collector-client.ts';
import { instanceFromEnv } from '../src/agent/identity.ts';
import type { Logger } from '../src/log/logger.ts';
import type { AgentConfig } from '../src/protocol/agent-config.ts';
import type { AgentState } from '../src/protocol/heartbeat.ts';
import { VERSION } from '../src/program.ts';
import { ms } from '../src/units.ts';
import { Breaker } from './breaker.ts';
import { CommandRunner } from './command-runner.ts';
import type { DaemonConfig } from './config.ts';
import { ConfigSync } from './config-sync.ts';
import { DaemonHeartbeat } from './daemon-heartbeat.ts';
import { HealthReporter, type DaemonStatus } from './health.ts';
import { reapOrphanWorkers, resolveStartBuild } from './resolve-start.ts';
import { SelfMonitor } from './self-monitor.ts';
import { Supervisor } from './supervisor.ts';
import { loadUpdateState, saveUpdateState } from './update-state.ts';
import { Updater } from './updater.ts';
import { WorkerProcess } from './worker-process.ts';

/** The daemon's version as reported in heartbeats (a dev build reports 0.0.0-dev). */
export const DAEMON_VERSION = VERSION;

/**
 * The sidecar's guardian: wires supervision, config sync, breaker and self-monitor, hot update, the command
 * channel, daemon heartbeats and the status file. Everything reads the local config through `#cfg`, so a SIGHUP
 * reload (setConfig) applies to the next decision without a restart.
 */
export class Daemon {
  #cfg: DaemonConfig;
  readonly #log: Logger;
  readonly #client: CollectorClient;
  #agentConfig: AgentConfig;
  /** Set while the newest config from the collector is refused; cleared when a good one is applied. */
  #configError: { error: string; brief: string } | undefined;
  #lastWorkerBeat: number | undefined;
  #restarts = 0;
  #stopping = false;
  supervisor!: Supervisor;
  breaker!: Breaker;
  monitor!: SelfMonitor;
  updater!: Updater;
  configSync!: ConfigSync;
  commands!: CommandRunner;
  heartbeat!: DaemonHeartbeat;
  health!: HealthReporter;
  /** Called when the daemon exceeds its own limits; main.ts exits with EXIT_CODES.selfLimit. */
  onSelfLimit: (reason: string) => void = () => undefined;

  constructor(cfg: DaemonConfig, log: Logger) {
    this.#cfg = cfg;
    this.#log = log;
    this.#agentConfig = cfg.config.default;
    this.#client = new CollectorClient({ url: cfg.collector.url, tokenFile: cfg.collector.tokenFile, log: log.child({ component: 'collector-client' }), userAgent: `podpulse-daemon/${VERSION}`, timeoutMs: ms(cfg.collector.timeout), connections: 3 });
  }

  get config(): DaemonConfig {
    return this.#cfg;
  }

  get agentConfig(): AgentConfig {
    return this.#agentConfig;
  }

  /** Applies a reloaded local config (SIGHUP). The collector URL and state dir only change on restart. */
  setConfig(next: DaemonConfig): void {
    if (next.collector.url !== this.#cfg.collector.url || next.stateDir !== this.#cfg.stateDir) this.#log.warn('collector.url and stateDir changes take effect on the next restart');
    this.#cfg = { ...next, collector: this.#cfg.collector, stateDir: this.#cfg.stateDir };
    this.#log.info({ allowlist: next.commands.allowlist.map((t) => t.name), keys: next.release.publicKeys.map((k) => k.keyId) }, 'local config reloaded');
  }

  async start(): Promise<void> {
    const cfg = this.#cfg;
    const log = this.#log;
    await mkdir(join(cfg.stateDir, 'spool'), { recursive: true });
    const { state, problem } = await loadUpdateState(cfg.stateDir);
    if (problem) log.warn(problem);
    await reapOrphanWorkers(state, log);
    const start = await resolveStartBuild(cfg.stateDir, state, log);
    log.info({ worker: start?.version ?? `${cfg.worker.bakedVersion} (baked)` }, 'starting');
    const { instance, fallbacks } = instanceFromEnv(process.env);
    if (fallbacks.length > 0) log.info({ fallbacks }, 'identity env not set; using local fallbacks');

    const policy = (): ReturnType<ConstructorParameters<typeof Supervisor>[0]['policy']> => {
      const w = this.#cfg.worker;
      return { initialMs: ms(w.restart.initial), maxMs: ms(w.restart.max), resetAfterMs: ms(w.restart.resetAfter), crashloopAfter: w.restart.crashloopAfter, readyDeadlineMs: ms(w.readyDeadline), stopGraceMs: ms(w.stopGrace) };
    };
    this.supervisor = new Supervisor({ log: log.child({ component: 'supervisor' }), policy, spawn: () => {
      const b = this.updater.currentBuild();
      return this.#fork(b?.entry ?? this.#cfg.worker.bakedPath, b?.version ?? this.#cfg.worker.bakedVersion);
    } });
    this.supervisor.on('spawned', (w) => {
      this.#restarts++;
      this.monitor.last = { daemonRssBytes: this.monitor.last.daemonRssBytes };
      this.breaker.resetStreak();
      void w;
    });
    this.supervisor.on('state', () => this.#pushAgentState());
    this.supervisor.on('message', (m) => {
      if (m.type === 'heartbeat-delivered') {
        this.#lastWorkerBeat = Date.now();
        if (m.configRevision !== this.#agentConfig.revision) void this.configSync.syncNow();
        if (m.commandsPending) this.commands.pollNow();
      } else if (m.type === 'config-rejected') log.error({ revision: m.revision, error: m.error }, 'worker rejected the config');
    });

    this.breaker = new Breaker({
      config: () => this.#agentConfig.breaker,
      log: log.child({ component: 'breaker' }),
      onTrip: (reason) => void this.supervisor.suspend(reason),
      onHalfOpen: () => this.supervisor.start(),
      onChange: (s) => {
        this.#pushAgentState();
        if (s === 'closed') void this.updater.consider(this.#agentConfig.release);
      },
    });
    this.monitor = new SelfMonitor({
      log: log.child({ component: 'self-monitor' }),
      intervalMs: () => ms(this.#agentConfig.breaker.sampleInterval),
      cgroupRoot: cfg.cgroupRoot,
      workerPid: () => (this.breaker.state === 'open' ? undefined : this.supervisor.current?.exited ? undefined : this.supervisor.current?.pid),
      limits: () => this.#cfg.self,
      onSample: (s) => this.breaker.observe(s),
      onSelfLimit: (reason) => this.onSelfLimit(reason),
    });

    this.updater = new Updater({
      stateDir: cfg.stateDir,
      log: log.child({ component: 'updater' }),
      state,
      runningVersion: () => state.current?.version ?? this.#cfg.worker.bakedVersion,
      keys: () => this.#cfg.release.publicKeys,
      limits: () => ({ downloadTimeoutMs: ms(this.#cfg.worker.downloadTimeout), maxDownloadBytes: this.#cfg.worker.maxDownloadBytes, readyDeadlineMs: ms(this.#cfg.worker.readyDeadline), updateGraceMs: ms(this.#cfg.worker.updateGrace) }),
      client: { client: this.#client, baseUrl: cfg.collector.url },
      startCandidate: (entry, version) => this.#fork(entry, version),
      adopt: (w) => this.supervisor.adopt(w),
      allowed: () => !this.#stopping && this.breaker.state === 'closed',
      onStatus: () => this.#pushAgentState(),
    });

    this.configSync = new ConfigSync({
      client: this.#client,
      stateDir: cfg.stateDir,
      log: log.child({ component: 'config-sync' }),
      intervalMs: () => ms(this.#cfg.config.pollInterval),
      onConfig: (c, source) => this.#applyConfig(c, source),
      onRefused: (refusal) => {
        this.#configError = refusal;
        this.#pushAgentState();
      },
    });
    this.commands = new CommandRunner({
      client: this.#client,
      log: log.child({ component: 'commands' }),
      settings: () => ({ allowlist: this.#cfg.commands.allowlist, maxConcurrent: this.#cfg.commands.maxConcurrent, pollWait: this.#cfg.commands.pollWait }),
    });
    this.heartbeat = new DaemonHeartbeat({
      client: this.#client,
      log: log.child({ component: 'daemon-heartbeat' }),
      instance,
      agent: () => this.agentState(),
      intervalMs: () => ms(this.#agentConfig.heartbeat.interval),
      needed: () => this.supervisor.state !== 'running' || this.breaker.state === 'open',
      onAck: (ack) => {
        if (ack.configRevision !== this.#agentConfig.revision) void this.configSync.syncNow();
        if (ack.commandsPending) this.commands.pollNow();
      },
    });
    this.health = new HealthReporter({ stateDir: cfg.stateDir, log: log.child({ component: 'health' }), snapshot: () => this.status() });

    await this.configSync.loadInitial(cfg.config.default);
    this.supervisor.start();
    this.configSync.start();
    this.monitor.start();
    this.heartbeat.start();
    if (cfg.commands.enabled) this.commands.start();
    this.health.start(ms(cfg.health.statusInterval), cfg.health.port);
  }

  /** The agent fields for heartbeats (the daemon's own, and copied by the worker from `agent-state`). */
  agentState(): AgentState {
    const w = this.supervisor.current;
    const s: AgentState = {
      daemonVersion: DAEMON_VERSION,
      workerVersion: w?.ready?.version ?? w?.version ?? this.updater.currentBuild()?.version ?? this.#cfg.worker.bakedVersion,
      configRevision: this.#agentConfig.revision,
      breaker: this.breaker.state,
      worker: this.breaker.state === 'open' ? 'down' : this.updater.busy ? 'updating' : this.supervisor.state,
      update: this.updater.status,
    };
    if (this.breaker.reason) s.breakerReason = this.breaker.reason.slice(0, 256);
    if (this.#configError) s.configError = this.#configError.brief;
    return s;
  }

  status(): DaemonStatus {
    const a = this.agentState();
    return {
      updatedAt: new Date().toISOString(),
      daemonPid: process.pid,
      daemon: this.#stopping ? 'stopping' : 'running',
      worker: a.worker,
      workerPid: this.supervisor.current?.exited ? undefined : this.supervisor.current?.pid,
      workerVersion: a.workerVersion,
      breaker: a.breaker,
      breakerReason: a.breakerReason,
      update: a.update,
      configRevision: a.configRevision,
      configError: this.#configError?.error,
      lastWorkerHeartbeatAt: this.#lastWorkerBeat ? new Date(this.#lastWorkerBeat).toISOString() : undefined,
      lastDaemonHeartbeatAt: this.heartbeat.lastSentAt ? new Date(this.heartbeat.lastSentAt).toISOString() : undefined,
      restarts: Math.max(0, this.#restarts - 1),
      figures: this.monitor.last,
    };
  }

  /**
   * SIGTERM/SIGINT: stop taking commands, ask the worker to flush its spool (IPC stop), SIGTERM its group, SIGKILL
   * after the grace. Resolves once every worker process is gone.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const grace = ms(this.#cfg.worker.stopGrace);
    this.#log.info({ graceMs: grace }, 'stopping');
    const commands = this.commands.stop();
    this.configSync.stop();
    this.heartbeat.stop();
    this.monitor.stop();
    this.breaker.close();
    await Promise.all([this.updater.abort(), this.supervisor.stop(grace)]);
    await this.health.write();
    await this.health.stop();
    await Promise.race([commands, new Promise((r) => setTimeout(r, 1000))]);
    await this.#client.close().catch(() => undefined);
    this.#log.info('stopped');
  }

  #fork(entry: string, version: string): WorkerProcess {
    const cfg = this.#cfg;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PODPULSE_COLLECTOR_URL: cfg.collector.url,
      PODPULSE_SPOOL_DIR: join(cfg.stateDir, 'spool'),
      PODPULSE_LOG_LEVEL: cfg.log.level,
    };
    if (cfg.collector.tokenFile) env.PODPULSE_TOKEN_FILE = cfg.collector.tokenFile;
    // The footprint settings (allocator env, node flags) act only at process start; "" removes a variable.
    for (const [k, v] of Object.entries(cfg.worker.env)) {
      if (v === '') delete env[k];
      else env[k] = v;
    }
    const w = new WorkerProcess({ entry, version, env, execArgv: cfg.worker.nodeFlags, log: this.#log.child({ component: 'worker' }), oomScoreAdj: cfg.worker.oomScoreAdj });
    w.send({ type: 'config', config: this.#agentConfig });
    w.send({ type: 'agent-state', agent: this.agentState() });
    // The worker gives our config precedence over its local file; builds older than that rule could apply their
    // local config after ours, so whatever a worker says it runs, it gets the effective config again until the
    // revisions agree.
    w.on('message', (m) => {
      if ((m.type === 'ready' || m.type === 'config-applied') && (m.type === 'ready' ? m.configRevision : m.revision) !== this.#agentConfig.revision) {
        w.send({ type: 'config', config: this.#agentConfig });
      }
    });
    if (w.pid !== undefined) {
      const st = this.updater.state;
      st.workerPids = [...st.workerPids.filter((p) => p !== this.supervisor.current?.pid), w.pid].slice(-4);
      void saveUpdateState(cfg.stateDir, st).catch((err: unknown) => this.#log.warn({ err }, 'cannot write the state file'));
    }
    return w;
  }

  #applyConfig(c: AgentConfig, source: string): void {
    const changed = c.revision !== this.#agentConfig.revision || source === 'collector';
    this.#agentConfig = c;
    this.#log.info({ revision: c.revision, source, checks: c.checks.length }, 'agent config applied');
    if (changed) this.supervisor?.current?.send({ type: 'config', config: c });
    this.#pushAgentState();
    void this.updater?.consider(c.release)?.then(() => this.updater.consider(this.#agentConfig.release));
  }

  #pushAgentState(): void {
    if (!this.supervisor || !this.breaker || !this.updater) return;
    const agent = this.agentState();
    const w = this.supervisor.current;
    if (w && !w.exited) w.send({ type: 'agent-state', agent });
  }
}
