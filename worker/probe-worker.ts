import { performance } from 'node:perf_hooks';
import { CollectorClient } from '../src/agent/collector-client.ts';
import { instanceFromEnv } from '../src/agent/identity.ts';
import type { WorkerToDaemon } from '../src/ipc.ts';
import type { Logger } from '../src/log/logger.ts';
import { AgentConfig } from '../src/protocol/agent-config.ts';
import type { AgentState } from '../src/protocol/heartbeat.ts';
import { parseWith } from '../src/protocol/parse.ts';
import { ms, parseBytes } from '../src/units.ts';
import type { WorkerConfig } from './config.ts';
import { HeartbeatBuilder } from './heartbeat-builder.ts';
import { CheckRunner } from './runner.ts';
import { scheduledChecks, type CheckLoaders, type CheckRegistry } from './scheduled-check.ts';
import { Scheduler } from './scheduler.ts';
import { Spool } from './spool.ts';
import { Transport } from './transport.ts';

export interface ProbeWorkerOptions {
  config: WorkerConfig;
  registry: CheckRegistry | CheckLoaders;
  log: Logger;
  version: string;
  env?: NodeJS.ProcessEnv;
  /** The IPC channel to the daemon, when there is one. */
  send?: ((msg: WorkerToDaemon) => void) | undefined;
  /**
   * Under the daemon: how long start() waits for the daemon's config before it falls back to the local file's
   * `probe` (the daemon sends it right after the fork, so the wait is normally nil). 0 (standalone) starts at once.
   */
  ipcConfigWaitMs?: number;
}

/** Where a config came from: the daemon (IPC) always wins over the local file. */
export type ConfigSource = 'ipc' | 'local';

/**
 * The worker wired together: runner and scheduler for the checks, one heartbeat per heartbeat interval (at a fixed
 * rate) built from the latest results, delivered through the transport with its spool. The first heartbeat goes as
 * soon as the first round of checks is in, so a new worker (an update candidate) proves itself in about a second.
 *
 * Config precedence: a config the daemon sent over IPC always wins; the local file's `probe` is only the fallback
 * when no IPC config has been applied. A daemon config that arrives before start() is kept and applied by it, and
 * the local one is then never applied, whatever the order the two arrive in.
 *
 * main.ts adds the process concerns (IPC, signals, exit); tests drive this class in-process with their own check
 * registry.
 */
export class ProbeWorker {
  readonly builder: HeartbeatBuilder;
  readonly scheduler: Scheduler;
  readonly #opts: ProbeWorkerOptions;
  readonly #client: CollectorClient;
  readonly #spool: Spool;
  readonly #transport: Transport;
  readonly #runner: CheckRunner;
  #config: AgentConfig | undefined;
  #source: ConfigSource | undefined;
  #beatTimer: NodeJS.Timeout | undefined;
  #beatStart = 0;
  #beatK = 0;
  #ready = false;
  #started = false;
  #stopped = false;
  /** A valid daemon config received before start(); start() applies it instead of the local one. */
  #early: AgentConfig | undefined;
  #onEarly: (() => void) | undefined;
  /** Check ids whose first result the first heartbeat waits for; undefined once it has gone. */
  #firstRound: Set<string> | undefined;

  constructor(opts: ProbeWorkerOptions) {
    this.#opts = opts;
    const { config, log } = opts;
    const env = opts.env ?? process.env;
    const { instance, fallbacks } = instanceFromEnv(env, { app: config.identity.appEnv, tenant: config.identity.tenantEnv });
    if (fallbacks.length > 0) log.info({ fallbacks }, 'identity env not set; using local fallbacks');
    this.builder = new HeartbeatBuilder({ instance, version: opts.version, configRevision: config.probe.revision });
    this.#client = new CollectorClient({
      url: config.collector.url,
      tokenFile: config.collector.tokenFile,
      timeoutMs: ms(config.collector.timeout),
      log: log.child({ component: 'collector-client' }),
      userAgent: `podpulse-worker/${opts.version}`,
    });
    this.#spool = new Spool({
      dir: config.spool.dir,
      maxBytes: parseBytes(config.spool.maxBytes)!,
      maxAgeMs: ms(config.spool.maxAge),
      segmentBytes: parseBytes(config.spool.segmentBytes)!,
      log: log.child({ component: 'spool' }),
    });
    this.#transport = new Transport({
      client: this.#client,
      spool: this.#spool,
      log: log.child({ component: 'transport' }),
      onDelivered: (d) => opts.send?.({ type: 'heartbeat-delivered', seq: d.seq, configRevision: d.configRevision, commandsPending: d.commandsPending }),
      onFailed: (f) => opts.send?.({ type: 'heartbeat-failed', seq: f.seq, error: f.error }),
    });
    const runner = (this.#runner = new CheckRunner({ registry: opts.registry, concurrency: config.concurrency, log: log.child({ component: 'runner' }), env, collectorUrl: config.collector.url }));
    this.scheduler = new Scheduler({ runner, historySize: config.history, log: log.child({ component: 'scheduler' }), onResult: (r) => this.#firstResult(r.id) });
  }

  /** Where the running config came from (undefined before the first one). */
  get configSource(): ConfigSource | undefined {
    return this.#source;
  }

  /** The running config's revision. */
  get configRevision(): string | undefined {
    return this.#config?.revision;
  }

  /** Heartbeats lost by this process (spool full or too old, or refused by the collector). */
  get dropped(): number {
    return this.#spool.dropped + this.#transport.dropped;
  }

  /** Check operations started and not settled (a hung stat or open on a dead mount never settles). */
  get outstanding(): number {
    return this.#runner.outstanding;
  }

  /**
   * Opens the spool (replaying what an earlier process left), then schedules the daemon's config if one came (or
   * comes within `ipcConfigWaitMs`), else the local file's.
   */
  async start(): Promise<void> {
    await this.#spool.open();
    if (this.#spool.count > 0) this.#opts.log.info({ heartbeats: this.#spool.count }, 'spooled heartbeats found; replaying them first');
    const wait = this.#opts.ipcConfigWaitMs ?? 0;
    if (!this.#early && wait > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        this.#onEarly = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#onEarly = undefined;
    }
    if (this.#stopped) return;
    this.#started = true;
    const early = this.#early;
    this.#early = undefined;
    if (early) {
      this.#install(early, 'ipc');
      return;
    }
    if (wait > 0) this.#opts.log.warn({ waitedMs: wait }, 'no config from the daemon yet; running the local one until it sends one');
    const r = this.applyConfig(this.#opts.config.probe, 'local');
    if (!r.ok) throw r.error;
  }

  /**
   * Validates and applies a config without a restart; an invalid one is refused and the running one kept. A local
   * config never replaces one the daemon sent (it is ignored, and says so); before start() a daemon config is kept
   * for start() to apply.
   */
  applyConfig(raw: unknown, source: ConfigSource = 'ipc'): { ok: true; applied: boolean } | { ok: false; error: Error } {
    const revision = typeof (raw as { revision?: unknown } | null)?.revision === 'string' ? (raw as { revision: string }).revision : '?';
    const parsed = parseWith(AgentConfig, raw, { what: `config revision ${revision}`, byId: true, code: 'PODPULSE_ERR_CONFIG_INVALID' });
    if (!parsed.ok) {
      this.#opts.log.error({ revision, source, err: parsed.error.message }, 'config refused; keeping the running one');
      this.#opts.send?.({ type: 'config-rejected', revision, error: parsed.error.message });
      return { ok: false, error: parsed.error };
    }
    if (source === 'local' && (this.#source === 'ipc' || this.#early)) {
      this.#opts.log.info({ revision, running: this.#early?.revision ?? this.#config?.revision }, 'local config ignored: the config from the daemon takes precedence');
      return { ok: true, applied: false };
    }
    if (this.#stopped) return { ok: true, applied: false };
    if (!this.#started) {
      this.#early = parsed.value;
      this.#onEarly?.();
      return { ok: true, applied: false };
    }
    this.#install(parsed.value, source);
    return { ok: true, applied: true };
  }

  #install(cfg: AgentConfig, source: ConfigSource): void {
    const checks = scheduledChecks(cfg);
    const changes = this.scheduler.apply(checks);
    const oldInterval = this.#config ? ms(this.#config.heartbeat.interval) : undefined;
    this.#config = cfg;
    this.#source = source;
    this.builder.setConfigRevision(cfg.revision);
    if (oldInterval !== ms(cfg.heartbeat.interval)) this.#startBeats();
    this.#opts.log.info({ revision: cfg.revision, source, checks: cfg.checks.length, ...changes }, 'config applied');
    this.#opts.send?.({ type: 'config-applied', revision: cfg.revision });
    if (!this.#ready) {
      this.#ready = true;
      this.#opts.send?.({ type: 'ready', version: this.#opts.version, bootId: this.builder.bootId, configRevision: cfg.revision });
      this.#firstRound = new Set(checks.map((c) => c.id));
      this.#firstResult(undefined);
    }
  }

  /** The first heartbeat goes once every check of the first config has a result (at once when there are none). */
  #firstResult(id: string | undefined): void {
    const waiting = this.#firstRound;
    if (!waiting) return;
    if (id !== undefined) waiting.delete(id);
    if (waiting.size > 0 || !this.#config) return;
    this.#firstRound = undefined;
    this.#beat(ms(this.#config.heartbeat.interval));
  }

  setAgent(agent: Partial<AgentState>): void {
    this.builder.setAgent(agent);
  }

  /** Stops checks and beats, flushes within `graceMs`, closes the connection pool. */
  async stop(graceMs: number): Promise<{ flushed: number; remaining: number }> {
    if (this.#beatTimer) clearTimeout(this.#beatTimer);
    this.#beatTimer = undefined;
    this.#firstRound = undefined;
    this.#stopped = true;
    this.#onEarly?.();
    this.scheduler.stop();
    const result = await this.#transport.flush(graceMs);
    await this.#client.close().catch(() => undefined);
    return result;
  }

  /** Fixed-rate beats: beat k is due at start + k * interval, like the checks, so they never drift. */
  #startBeats(): void {
    if (this.#beatTimer) clearTimeout(this.#beatTimer);
    this.#beatStart = performance.now();
    this.#beatK = 1;
    this.#armBeat();
  }

  #armBeat(): void {
    const interval = ms(this.#config!.heartbeat.interval);
    const delay = Math.max(0, this.#beatStart + this.#beatK * interval - performance.now());
    this.#beatTimer = setTimeout(() => {
      this.#beatK = Math.max(this.#beatK, Math.floor((performance.now() - this.#beatStart + 1) / interval)) + 1;
      this.#armBeat();
      // A first round slower than a whole interval (a check hanging until its deadline) waits no longer.
      this.#firstRound = undefined;
      this.#beat(interval);
    }, delay);
  }

  #beat(intervalMs: number): void {
    try {
      const hb = this.builder.build({ checks: this.scheduler.latest(), intervalMs, dropped: this.dropped });
      this.#transport.submit(hb);
    } catch (err) {
      this.#opts.log.error({ err }, 'cannot build a heartbeat');
    }
  }
}
