import { describe, expect, it } from 'vitest';
import { restartDelay } from '../../../daemon/restart-backoff.ts';

const policy = { initialMs: 1000, maxMs: 60_000, resetAfterMs: 300_000, crashloopAfter: 5 };

describe('restartDelay', () => {
  it('doubles from 1 s and caps at 60 s without jitter at the midpoint', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => restartDelay(policy, n, () => 0.5))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  });

  it('stays within ±20 % jitter', () => {
    expect(restartDelay(policy, 3, () => 0)).toBe(3200);
    expect(restartDelay(policy, 3, () => 0.9999999)).toBe(4800);
  });
});
