import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../src/log/logger.ts';
import { CheckRunner } from '../../../worker/runner.ts';
import { Scheduler } from '../../../worker/scheduler.ts';
import { envCheck, registry } from '../../helpers/test-checks.ts';

const log = createLogger({ name: 'test', level: 'silent' });

/** A real runner and scheduler on fake timers; every run records (check behaviour, fake time). */
function setup(opts: { random?: () => number; historySize?: number } = {}) {
  const runs: Array<{ name: string; at: number }> = [];
  const runner = new CheckRunner({ registry: registry((name) => runs.push({ name, at: Date.now() })), concurrency: 8, log, graceMs: 10 });
  const scheduler = new Scheduler({ runner, historySize: opts.historySize ?? 10, log, now: () => Date.now(), ...(opts.random ? { random: opts.random } : {}) });
  return { runs, scheduler };
}

describe('Scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs each new check once within the first second, then on a grid spread over the whole interval', async () => {
    const { runs, scheduler } = setup();
    const checks = Array.from({ length: 200 }, (_, i) => envCheck(`c${i}`, `n_${i}`, 10_000, 1000));
    scheduler.apply(checks);
    await vi.advanceTimersByTimeAsync(999);
    // A full first round within a second: a fresh worker's first heartbeat can carry every check.
    expect(runs.length).toBe(200);
    await vi.advanceTimersByTimeAsync(30_000);
    const byName = new Map<string, number[]>();
    for (const r of runs) byName.set(r.name, [...(byName.get(r.name) ?? []), r.at - 1_000_000]);
    const phases: number[] = [];
    for (const times of byName.values()) {
      // The grid's first run is at least half an interval after the first one, never overlapping it.
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(5_000);
      for (let k = 2; k < times.length; k++) expect(times[k]! - times[k - 1]!).toBe(10_000);
      phases.push(times[1]! % 10_000);
    }
    // Spread, not clumped: every tenth of the interval gets some grid runs.
    expect(new Set(phases.map((t) => Math.floor(t / 1000))).size).toBe(10);
    scheduler.stop();
  });

  it('keeps a fixed rate without drift over hours although each run takes 300 ms', async () => {
    const { runs, scheduler } = setup({ random: () => 0.25 });
    scheduler.apply([envCheck('slow', 'sleep_300', 10_000, 1000)]);
    await vi.advanceTimersByTimeAsync(3 * 3_600_000);
    // First run at 0.25 of the first-run window; the grid's phase is 0.25 of the interval, pushed one interval on
    // because 2.5 s is less than half an interval after the first run.
    expect(runs[0]!.at).toBe(1_000_000 + 250);
    const start = 1_000_000 + 12_500;
    expect(runs.length).toBe(3 * 360);
    runs.slice(1).forEach((r, k) => expect(r.at).toBe(start + k * 10_000));
    scheduler.stop();
  });

  it('applies a config update without a restart: unchanged keep their grid, changed restart, removed stop, added start', async () => {
    const { runs, scheduler } = setup({ random: () => 0.5 });
    scheduler.apply([envCheck('keep', 'keep', 1000, 500), envCheck('change', 'change', 1000, 500), envCheck('drop', 'drop', 1000, 500)]);
    await vi.advanceTimersByTimeAsync(3_200);
    const r = scheduler.apply([envCheck('keep', 'keep', 1000, 500), envCheck('change', 'change', 2000, 500), envCheck('add', 'add', 1000, 500)]);
    expect(r).toEqual({ added: ['add'], removed: ['drop'], changed: ['change'] });
    await vi.advanceTimersByTimeAsync(6_000);
    const at = (name: string) => runs.filter((x) => x.name === name).map((x) => x.at - 1_000_000);
    expect(at('keep')).toEqual([500, 1500, 2500, 3500, 4500, 5500, 6500, 7500, 8500]);
    expect(at('drop')).toEqual([500, 1500, 2500]);
    // Restarted at the update (t=3200): a first run at 3200 + 0.5 * 1 s, then its grid at 3200 + 0.5 * 2 s, pushed
    // one interval on (less than half an interval after the first run), every 2 s.
    expect(at('change')).toEqual([500, 1500, 2500, 3700, 6200, 8200]);
    expect(at('add')).toEqual([3700, 4700, 5700, 6700, 7700, 8700]);
    expect(scheduler.latest().map((x) => x.id)).toEqual(['keep', 'change', 'add']);
    scheduler.stop();
  });

  it('skips missed slots instead of bursting when the clock jumps ahead', async () => {
    let offset = 0;
    const runs: number[] = [];
    const runner = new CheckRunner({ registry: registry(() => runs.push(Date.now() + offset)), concurrency: 8, log });
    const scheduler = new Scheduler({ runner, historySize: 5, log, now: () => Date.now() + offset, random: () => 0 });
    scheduler.apply([envCheck('c', 'x', 1000, 500)]);
    await vi.advanceTimersByTimeAsync(2_500);
    // As if the process had been frozen for 10.3 s: one run for the latest slot, then the grid continues.
    offset = 10_300;
    await vi.advanceTimersByTimeAsync(1_300);
    expect(runs.map((t) => t - 1_000_000)).toEqual([0, 1000, 2000, 13_300, 14_000]);
    scheduler.stop();
  });

  it('keeps the last N results per check and the last failure', async () => {
    const { scheduler } = setup({ random: () => 0, historySize: 3 });
    scheduler.apply([envCheck('t', 'throw', 1000, 500)]);
    await vi.advanceTimersByTimeAsync(500);
    scheduler.apply([envCheck('t', 'fine', 1000, 500)]);
    expect(scheduler.history('t')!.recent).toEqual([]);
    await vi.advanceTimersByTimeAsync(5_000);
    const h = scheduler.history('t')!;
    expect(h.recent).toHaveLength(3);
    expect(h.recent.every((x) => x.status === 'ok')).toBe(true);
    scheduler.stop();

    const s2 = setup({ random: () => 0, historySize: 2 }).scheduler;
    s2.apply([envCheck('f', 'throw', 1000, 500)]);
    await vi.advanceTimersByTimeAsync(3_500);
    expect(s2.history('f')!.lastFailure).toMatchObject({ code: 'CHECK_ERROR' });
    expect(s2.history('f')!.recent).toHaveLength(2);
    s2.stop();
  });
});
