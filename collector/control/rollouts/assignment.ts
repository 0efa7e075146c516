import { createHash } from 'node:crypto';
import type { InstanceKey } from '../config-center/config-scope.ts';
import type { Rollout, RolloutSelector, RolloutStep } from './rollout-spec.ts';

/** Buckets per rollout: a percent step of p covers buckets below p × 100. */
export const BUCKETS = 10_000;

/**
 * An instance's bucket in a rollout: a hash of the rollout id and the pod uid. It depends on nothing else, so an
 * instance keeps its bucket for the whole rollout and a new pod lands in the bucket its uid says; salting with the
 * rollout id makes each rollout pick different canaries.
 */
export function bucketOf(rolloutId: string, podUid: string): number {
  return createHash('sha256').update(`${rolloutId}/${podUid.toLowerCase()}`).digest().readUInt32BE(0) % BUCKETS;
}

export function selectorMatches(s: RolloutSelector, k: Pick<InstanceKey, 'tenant' | 'namespace' | 'app'>): boolean {
  return (s.tenant === undefined || s.tenant === k.tenant) && (s.namespace === undefined || s.namespace === k.namespace) && (s.app === undefined || s.app === k.app);
}

/**
 * The cutoff of a percent step over the instances selected now: p × 100 buckets, raised so that at least
 * ceil(p% of them), and at least one, are in (1 % of 20 pods is still one canary). Computed once when the step
 * starts; pods that come later fall in or out by their bucket alone.
 */
export function cutoffFor(step: RolloutStep, buckets: readonly number[], previous: number): number {
  if (!('percent' in step)) return previous;
  if (step.percent >= 100) return BUCKETS;
  const byPercent = Math.round(step.percent * (BUCKETS / 100));
  const sorted = [...buckets].sort((a, b) => a - b);
  const want = Math.max(1, Math.ceil((step.percent / 100) * sorted.length));
  const kth = sorted[Math.min(want, sorted.length) - 1];
  return Math.max(previous, byPercent, kth === undefined ? 0 : kth + 1);
}

/** Whether the rollout has reached this instance (selector matched and in a step up to the current one). */
export function inRollout(r: Rollout, k: InstanceKey): boolean {
  if (!selectorMatches(r.selector, k)) return false;
  if (r.status === 'succeeded') return true;
  const uid = k.podUid.toLowerCase();
  for (let i = 0; i <= r.currentStep && i < r.steps.length; i++) {
    const s = r.steps[i]!;
    if ('instances' in s && s.instances.includes(uid)) return true;
  }
  const cutoff = r.stepStates[r.currentStep]?.cutoff ?? 0;
  return cutoff > 0 && bucketOf(r.id, uid) < cutoff;
}
