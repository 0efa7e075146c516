import type * as z from 'zod/mini';
import type { Logger } from '../src/log/logger.ts';
import type { BreakerConfig } from '../src/protocol/agent-config.ts';
import { ms } from '../src/units.ts';

export type BreakerConfigValue = z.output<typeof BreakerConfig>;
export type BreakerState = 'closed' | 'open' | 'half-open';

/** One observation of the worker and the container, already normalised by the self-monitor. */
export interface BreakerSample {
  /** Worker CPU as a percent of the container's CPU quota (of one core when unlimited); undefined on a first sample. */
  workerCpuPercent?: number | undefined;
  workerRssBytes?: number | undefined;
  /** memory.current / memory.max; undefined when the container has no limit. */
  containerMemoryRatio?: number | undefined;
}

export interface BreakerOptions {
  config: () => BreakerConfigValue;
  log: Logger;
  /** Kill the worker and keep it down. */
  onTrip: (reason: string) => void;
  /** Start the worker again, on probation. */
  onHalfOpen: () => void;
  onChange?: (state: BreakerState, reason: string | undefined) => void;
}

/**
 * The worker's circuit breaker. Closed: samples are checked against the thresholds. A trip opens it (the worker is
 * killed) for a cooldown that doubles on every trip up to maxCooldown; then half-open starts the worker again,
 * and `cpuSamples` clean samples close it. A breaker that stays closed for maxCooldown forgets earlier trips.
 */
export class Breaker {
  readonly #opts: BreakerOptions;
  #state: BreakerState = 'closed';
  #reason: string | undefined;
  #trips = 0;
  #cpuOver = 0;
  #clean = 0;
  #closedSince = Date.now();
  /** Samples of the current worker process, so a trip can say how many samples it took. */
  #samples = 0;
  #timer: NodeJS.Timeout | undefined;
  cooldownMs = 0;

  constructor(opts: BreakerOptions) {
    this.#opts = opts;
  }

  get state(): BreakerState {
    return this.#state;
  }

  get reason(): string | undefined {
    return this.#reason;
  }

  get trips(): number {
    return this.#trips;
  }

  /** Checks one sample; returns the trip reason when this sample opened the breaker. Ignored while open. */
  observe(s: BreakerSample): string | undefined {
    if (this.#state === 'open') return undefined;
    if (s.workerRssBytes !== undefined) this.#samples++;
    const cfg = this.#opts.config();
    let reason: string | undefined;
    if (s.workerRssBytes !== undefined && s.workerRssBytes > cfg.workerRssMb * 1024 * 1024) {
      reason = `worker RSS ${(s.workerRssBytes / 1048576).toFixed(1)} MB over ${cfg.workerRssMb} MB`;
    } else if (s.containerMemoryRatio !== undefined && s.containerMemoryRatio > cfg.containerMemoryRatio) {
      reason = `container memory at ${(s.containerMemoryRatio * 100).toFixed(1)}% of its limit, over ${(cfg.containerMemoryRatio * 100).toFixed(0)}%`;
    }
    if (s.workerCpuPercent !== undefined) {
      this.#cpuOver = s.workerCpuPercent > cfg.workerCpuPercent ? this.#cpuOver + 1 : 0;
      if (!reason && this.#cpuOver >= cfg.cpuSamples) reason = `worker CPU over ${cfg.workerCpuPercent}% for ${this.#cpuOver} samples (last ${s.workerCpuPercent.toFixed(1)}%)`;
    }
    if (reason) {
      this.trip(reason);
      return reason;
    }
    if (this.#state === 'half-open' && ++this.#clean >= cfg.cpuSamples) {
      this.#state = 'closed';
      this.#reason = undefined;
      this.#closedSince = Date.now();
      this.#opts.log.info({ trips: this.#trips }, 'breaker closed: the worker stayed within its limits');
      this.#opts.onChange?.('closed', undefined);
    } else if (this.#state === 'closed' && this.#trips > 0 && Date.now() - this.#closedSince >= ms(cfg.maxCooldown)) {
      this.#trips = 0;
    }
    return undefined;
  }

  /** Opens the breaker now: kills the worker via onTrip and schedules half-open after the cooldown. */
  trip(reason: string): void {
    const cfg = this.#opts.config();
    this.#trips++;
    this.#cpuOver = 0;
    this.#clean = 0;
    this.cooldownMs = Math.min(ms(cfg.maxCooldown), ms(cfg.cooldown) * 2 ** (this.#trips - 1));
    this.#state = 'open';
    this.#reason = reason;
    this.#opts.log.warn({ reason, trips: this.#trips, cooldownMs: this.cooldownMs, samples: this.#samples }, 'breaker open: worker killed');
    this.#opts.onTrip(reason);
    this.#opts.onChange?.('open', reason);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#state = 'half-open';
      this.#opts.log.info({ reason }, 'breaker half-open: starting the worker again');
      this.#opts.onChange?.('half-open', reason);
      this.#opts.onHalfOpen();
    }, this.cooldownMs);
  }

  /** A new worker process restarts the CPU streak (its first sample is not comparable). */
  resetStreak(): void {
    this.#cpuOver = 0;
    this.#samples = 0;
  }

  close(): void {
    clearTimeout(this.#timer);
  }
}
