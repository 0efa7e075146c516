import { readFile } from 'node:fs/promises';
import pidusage from 'pidusage';
import type { Logger } from '../src/log/logger.ts';
import { readCgroup } from './cgroup.ts';
import type { BreakerSample } from './breaker.ts';

/** The daemon's own limits. */
export interface SelfLimits {
  maxRssMb: number;
  maxCpuPercent: number;
  cpuSamples: number;
}

export interface SelfMonitorOptions {
  log: Logger;
  intervalMs: () => number;
  cgroupRoot: string;
  workerPid: () => number | undefined;
  limits: () => SelfLimits;
  onSample: (s: BreakerSample) => void;
  /** The daemon is over its own limits; the caller logs and exits with EXIT_SELF_LIMIT. */
  onSelfLimit: (reason: string) => void;
}

/** The last figures, for the status file and benchmarks. */
export interface MonitorFigures {
  workerPid?: number | undefined;
  workerCpuPercent?: number | undefined;
  workerRssBytes?: number | undefined;
  daemonCpuPercent?: number | undefined;
  daemonRssBytes: number;
  containerMemoryRatio?: number | undefined;
  cpuQuotaCores?: number | undefined;
}

/**
 * Samples the worker (pidusage), the daemon itself (process.cpuUsage/memoryUsage) and the container's cgroup
 * every interval. CPU is a delta between two samples of the same pid, so the first sample of each worker is
 * discarded (pidusage's own first figure is an average since the process started), and it is normalised to the
 * container's CPU quota: 10 % of one core in a half-core container is 20 % of what the pod may use.
 * Worker memory is its anonymous RSS (RssAnon) where /proc has it: what a leak grows, without the ~40 MB of the
 * node binary's file-backed pages that every Node process maps and shares.
 */
export class SelfMonitor {
  readonly #opts: SelfMonitorOptions;
  #timer: NodeJS.Timeout | undefined;
  #prevWorker: { pid: number; ctime: number; at: number } | undefined;
  #prevSelf = { usage: process.cpuUsage(), at: performance.now() };
  #selfCpuOver = 0;
  #running = false;
  last: MonitorFigures = { daemonRssBytes: process.memoryUsage.rss() };

  constructor(opts: SelfMonitorOptions) {
    this.#opts = opts;
  }

  start(): void {
    const loop = (): void => {
      this.#timer = setTimeout(() => {
        void this.sample().finally(loop);
      }, this.#opts.intervalMs());
    };
    loop();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Takes one sample and feeds it on; never throws (a vanished pid is simply no worker figure). */
  async sample(): Promise<MonitorFigures> {
    if (this.#running) return this.last;
    this.#running = true;
    try {
      const cg = await readCgroup(this.#opts.cgroupRoot);
      const base = cg.cpuQuotaCores ?? 1;
      const fig: MonitorFigures = { daemonRssBytes: process.memoryUsage.rss(), cpuQuotaCores: cg.cpuQuotaCores };
      if (cg.memoryCurrent !== undefined && cg.memoryMax !== undefined && cg.memoryMax > 0) fig.containerMemoryRatio = cg.memoryCurrent / cg.memoryMax;

      const pid = this.#opts.workerPid();
      if (pid !== undefined) {
        try {
          const st = await pidusage(pid);
          const now = performance.now();
          fig.workerPid = pid;
          fig.workerRssBytes = (await anonRss(pid)) ?? st.memory;
          const prev = this.#prevWorker;
          if (prev && prev.pid === pid && now > prev.at) fig.workerCpuPercent = ((st.ctime - prev.ctime) / (now - prev.at)) * 100 / base;
          this.#prevWorker = { pid, ctime: st.ctime, at: now };
        } catch {
          this.#prevWorker = undefined;
        }
      } else this.#prevWorker = undefined;

      const now = performance.now();
      const usage = process.cpuUsage(this.#prevSelf.usage);
      fig.daemonCpuPercent = ((usage.user + usage.system) / 1000 / (now - this.#prevSelf.at)) * 100 / base;
      this.#prevSelf = { usage: process.cpuUsage(), at: now };
      this.last = fig;

      this.#opts.onSample({ workerCpuPercent: fig.workerCpuPercent, workerRssBytes: fig.workerRssBytes, containerMemoryRatio: fig.containerMemoryRatio });
      this.#checkSelf(fig);
      return fig;
    } catch (err) {
      this.#opts.log.debug({ err }, 'self-monitor sample failed');
      return this.last;
    } finally {
      this.#running = false;
    }
  }

  #checkSelf(fig: MonitorFigures): void {
    const limits = this.#opts.limits();
    if (fig.daemonRssBytes > limits.maxRssMb * 1024 * 1024) {
      this.#opts.onSelfLimit(`daemon RSS ${(fig.daemonRssBytes / 1048576).toFixed(1)} MB over its limit of ${limits.maxRssMb} MB`);
      return;
    }
    if (fig.daemonCpuPercent === undefined) return;
    this.#selfCpuOver = fig.daemonCpuPercent > limits.maxCpuPercent ? this.#selfCpuOver + 1 : 0;
    if (this.#selfCpuOver >= limits.cpuSamples) {
      this.#opts.onSelfLimit(`daemon CPU over ${limits.maxCpuPercent}% for ${this.#selfCpuOver} samples (last ${fig.daemonCpuPercent.toFixed(1)}%)`);
    }
  }
}

/** RssAnon from /proc/<pid>/status in bytes, or undefined where /proc does not say. */
async function anonRss(pid: number): Promise<number | undefined> {
  try {
    const m = /^RssAnon:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
