/** Restart delays for a failing worker: exponential with jitter, capped, reset after a long healthy run. */
export interface RestartPolicy {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
  crashloopAfter: number;
}

/**
 * The delay before restart number `failures` (1-based): initial × 2^(failures-1), capped at max, then ±20 %
 * jitter so that a node full of pods whose worker crashed together does not restart in lockstep.
 */
export function restartDelay(policy: RestartPolicy, failures: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.round(base * (0.8 + 0.4 * random()));
}
