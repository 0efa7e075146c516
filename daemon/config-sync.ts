import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CollectorUnavailableError, type CollectorClient } from '../src/agent/collector-client.ts';
import type { Logger } from '../src/log/logger.ts';
import { AgentConfig } from '../src/protocol/agent-config.ts';
import { ValidationError } from '../src/errors.ts';
import { parseWith } from '../src/protocol/parse.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { configErrorBrief } from './config-error.ts';

export interface ConfigSyncOptions {
  client: CollectorClient;
  stateDir: string;
  log: Logger;
  /** Base poll interval; each wait is ±20 % of it. */
  intervalMs: () => number;
  /** Called with every new valid config (not with a 304 or a refused one). */
  onConfig: (config: AgentConfig, source: 'cache' | 'default' | 'collector') => void;
  /**
   * Called when the collector served a config that does not validate (undefined once a good one is applied):
   * the full report and the brief form for `agent.configError`.
   */
  onRefused: (refusal: { error: string; brief: string } | undefined) => void;
  random?: () => number;
}

interface CacheFile {
  etag?: string | undefined;
  config: unknown;
}

/**
 * Keeps the effective AgentConfig: starts from the on-disk cache (else the injected default), then polls
 * `GET /v1/agent/config` with If-None-Match every interval ± jitter, and at once when asked (a delivered
 * heartbeat announced a newer revision). A config that fails validation is refused, logged once, and the last
 * good one stays.
 */
export class ConfigSync {
  readonly #opts: ConfigSyncOptions;
  #etag: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<void> | undefined;
  #again = false;
  #refused: string | undefined;
  #unreachableLogged = false;
  #stopped = false;
  config: AgentConfig | undefined;

  constructor(opts: ConfigSyncOptions) {
    this.#opts = opts;
  }

  get cacheFile(): string {
    return join(this.#opts.stateDir, 'agent-config.json');
  }

  /** Loads the cache (or the default) and applies it; returns where the config came from. */
  async loadInitial(fallback: AgentConfig): Promise<'cache' | 'default'> {
    try {
      const cache = JSON.parse(await readFile(this.cacheFile, 'utf8')) as CacheFile;
      const r = parseWith(AgentConfig, cache.config, { what: 'cached agent config' });
      if (r.ok) {
        this.#etag = cache.etag;
        this.#apply(r.value, 'cache');
        return 'cache';
      }
      this.#opts.log.warn({ error: r.error.message }, 'cached agent config is invalid; using the injected default');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#opts.log.warn({ err }, 'cannot read the cached agent config; using the injected default');
    }
    this.#apply(fallback, 'default');
    return 'default';
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Fetches now (coalescing with a fetch already in flight) and resets the poll timer. */
  syncNow(): Promise<void> {
    if (this.#inflight) {
      this.#again = true;
      return this.#inflight;
    }
    clearTimeout(this.#timer);
    this.#inflight = this.#fetch().finally(() => {
      this.#inflight = undefined;
      if (this.#again) {
        this.#again = false;
        void this.syncNow();
      } else this.#schedule();
    });
    return this.#inflight;
  }

  #schedule(delay?: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    const base = this.#opts.intervalMs();
    const wait = delay ?? Math.round(base * (0.8 + 0.4 * (this.#opts.random ?? Math.random)()));
    this.#timer = setTimeout(() => void this.syncNow(), wait);
  }

  async #fetch(): Promise<void> {
    const log = this.#opts.log;
    let res;
    try {
      res = await this.#opts.client.request({ method: 'GET', path: '/v1/agent/config', headers: this.#etag ? { 'if-none-match': this.#etag } : {} });
    } catch (err) {
      if (!(err instanceof CollectorUnavailableError)) throw err;
      if (!this.#unreachableLogged) log.warn({ err: err.message }, 'collector unreachable; running the last good config');
      this.#unreachableLogged = true;
      return;
    }
    if (this.#unreachableLogged) log.info('collector reachable again');
    this.#unreachableLogged = false;
    if (res.status === 304) return;
    if (res.status !== 200) {
      log.warn({ status: res.status }, 'config request refused by the collector');
      return;
    }
    const etagHeader = res.headers.etag;
    const etag = Array.isArray(etagHeader) ? etagHeader[0] : etagHeader;
    let body: unknown;
    try {
      body = res.json();
    } catch (err) {
      const error = `config from the collector is not JSON: ${(err as Error).message}`;
      this.#refuse(error, configErrorBrief(new ValidationError('PODPULSE_ERR_CONFIG_INVALID', 'agent config from the collector', [{ path: '', message: error }])), etag);
      return;
    }
    const r = parseWith(AgentConfig, body, { what: 'agent config from the collector', byId: true, code: 'PODPULSE_ERR_CONFIG_INVALID' });
    if (!r.ok) {
      this.#refuse(r.error.message, configErrorBrief(r.error), etag);
      return;
    }
    this.#etag = etag;
    if (this.#refused !== undefined) this.#opts.onRefused(undefined);
    this.#refused = undefined;
    await writeFileAtomic(this.cacheFile, JSON.stringify({ etag, config: r.value } satisfies CacheFile)).catch((err: unknown) => log.warn({ err }, 'cannot write the config cache'));
    this.#apply(r.value, 'collector');
  }

  #refuse(error: string, brief: string, etag: string | undefined): void {
    // Remember the refused ETag: the next poll gets a 304 for it instead of refusing (and logging) it again.
    this.#etag = etag ?? this.#etag;
    if (this.#refused === error) return;
    this.#refused = error;
    this.#opts.log.error({ error }, 'refused an invalid config from the collector; keeping the last good one');
    this.#opts.onRefused({ error: error.slice(0, 500), brief });
  }

  #apply(config: AgentConfig, source: 'cache' | 'default' | 'collector'): void {
    this.config = config;
    this.#opts.onConfig(config, source);
  }
}
