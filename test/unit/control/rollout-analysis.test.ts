import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUCKETS, bucketOf, cutoffFor, inRollout } from '../../../collector/control/rollouts/assignment.ts';
import { analyzeStep, groupStats, judge, type InstanceView } from '../../../collector/control/rollouts/rollout-analysis.ts';
import { AnalysisSpec, RolloutRequest, type Rollout } from '../../../collector/control/rollouts/rollout-spec.ts';

const NOW = Date.UTC(2026, 0, 5, 10, 0, 0);

function inst(over: Partial<InstanceView> & { version?: string } = {}): InstanceView {
  const { version, ...rest } = over;
  return {
    podUid: randomUUID(), namespace: 'shop', app: 'web', tenant: 'acme', status: 'healthy', lastSeen: NOW - 1000, intervalMs: 10_000,
    agent: { daemonVersion: '1.0.0', workerVersion: version ?? '1.0.0', configRevision: 'r', breaker: 'closed', worker: 'running' },
    ...rest,
  };
}

function rollout(over: Partial<Rollout> = {}): Rollout {
  return {
    id: 'ro-test', target: '2.0.0', selector: { app: 'web' }, steps: [{ percent: 10 }, { percent: 100 }], analysis: AnalysisSpec.parse({}),
    status: 'running', createdBy: 't', createdAt: NOW, updatedAt: NOW, fromVersions: {}, baseline: { instances: 0, breakerOpen: 0, crashloop: 0, silent: 0, failing: 0 },
    currentStep: 0, stepStates: [], ...over,
  };
}

describe('stable assignment', () => {
  it('gives an instance the same bucket every time, in range, different per rollout', () => {
    fc.assert(fc.property(fc.uuid(), (uid) => {
      const b = bucketOf('ro-a', uid);
      expect(b).toBe(bucketOf('ro-a', uid.toUpperCase()));
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(BUCKETS);
    }));
    const uids = Array.from({ length: 200 }, () => randomUUID());
    expect(uids.filter((u) => bucketOf('ro-a', u) === bucketOf('ro-b', u)).length).toBeLessThan(5);
  });

  it('spreads buckets evenly: 10 % of 20,000 uids fall under a 10 % cutoff, give or take', () => {
    const n = Array.from({ length: 20_000 }, () => randomUUID()).filter((u) => bucketOf('ro-x', u) < BUCKETS / 10).length;
    expect(n).toBeGreaterThan(1800);
    expect(n).toBeLessThan(2200);
  });

  it('puts at least one instance in a 1 % step of a small fleet, never moves the cutoff back, and 100 % takes all', () => {
    const buckets = [9000, 4000, 7000];
    const c = cutoffFor({ percent: 1 }, buckets, 0);
    expect(buckets.filter((b) => b < c)).toEqual([4000]);
    expect(cutoffFor({ percent: 1 }, buckets, 8000)).toBe(8000);
    expect(cutoffFor({ percent: 100 }, buckets, c)).toBe(BUCKETS);
    expect(cutoffFor({ instances: [randomUUID()] }, buckets, 1234)).toBe(1234);
  });

  it('keeps an instance in the rollout from its step on; named canaries are in from their step', () => {
    const named = randomUUID();
    const r = rollout({ steps: [{ instances: [named] }, { percent: 50 }], stepStates: [{ cutoff: 0, startedAt: NOW, phase: 'updating', counts: { targeted: 0, updated: 0, failed: 0, rolledBack: 0, silent: 0 } }] });
    const others = Array.from({ length: 50 }, () => inst());
    expect(inRollout(r, inst({ podUid: named }))).toBe(true);
    expect(others.filter((i) => inRollout(r, i))).toEqual([]);
    const r2: Rollout = { ...r, currentStep: 1, stepStates: [...r.stepStates, { cutoff: 5000, startedAt: NOW, phase: 'updating', counts: { targeted: 0, updated: 0, failed: 0, rolledBack: 0, silent: 0 } }] };
    const inStep2 = others.filter((i) => inRollout(r2, i));
    expect(inStep2.every((i) => bucketOf(r.id, i.podUid) < 5000)).toBe(true);
    expect(inRollout(r2, inst({ podUid: named }))).toBe(true);
    expect(inRollout(r2, inst({ app: 'other' }))).toBe(false);
  });
});

describe('rollout request', () => {
  it('defaults to 1 → 10 → 50 → 100 % and refuses shrinking percentages, naming the step', () => {
    expect(RolloutRequest.parse({ target: '1.2.0' }).steps).toEqual([{ percent: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }]);
    const bad = RolloutRequest.safeParse({ target: '1.2.0', steps: [{ percent: 50 }, { percent: 10 }] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['steps', 1, 'percent']);
  });
});

describe('step analysis', () => {
  const stepped = (cutoff: number, over: Partial<Rollout> = {}) => rollout({ stepStates: [{ cutoff, startedAt: NOW, phase: 'observing', counts: { targeted: 0, updated: 0, failed: 0, rolledBack: 0, silent: 0 } }], ...over });

  it('counts targeted, updated and failed instances of the step', () => {
    const r = stepped(BUCKETS);
    const a = analyzeStep(r, 0, [
      inst({ version: '2.0.0' }),
      inst({ agent: { daemonVersion: '1', workerVersion: '1.0.0', configRevision: 'r', breaker: 'closed', worker: 'running', update: { desired: '2.0.0', current: '1.0.0', status: 'rolled-back', error: 'crashed' } } }),
      inst(),
      inst({ app: 'other' }),
    ], NOW);
    expect(a.counts).toEqual({ targeted: 3, updated: 1, failed: 1, rolledBack: 0, silent: 0 });
    expect(a.failedUids).toHaveLength(1);
    expect(a.newGroup.instances).toBe(1);
  });

  it('passes a healthy new group and fails one clearly worse than the old group, with the numbers', () => {
    const r = rollout();
    const healthyNew = Array.from({ length: 10 }, () => inst({ version: '2.0.0' }));
    const old = Array.from({ length: 90 }, (_, i) => inst({ status: i < 9 ? 'failing' : 'healthy' }));
    const pass = judge(r, { counts: { targeted: 10, updated: 10, failed: 0, rolledBack: 0, silent: 0 }, failedUids: [], newGroup: groupStats(healthyNew, NOW), oldGroup: groupStats(old, NOW) }, NOW);
    expect(pass.result).toBe('pass');
    const sick = healthyNew.map((i, n) => (n < 5 ? { ...i, status: 'failing' as const } : n < 7 ? { ...i, agent: { ...i.agent, breaker: 'open' as const } } : i));
    const fail = judge(r, { counts: { targeted: 10, updated: 10, failed: 0, rolledBack: 0, silent: 0 }, failedUids: [], newGroup: groupStats(sick, NOW), oldGroup: groupStats(old, NOW) }, NOW);
    expect(fail.result).toBe('fail');
    expect(fail.reasons.join('\n')).toMatch(/failing checks: 50\.0% of 10 on 2\.0\.0 vs 10\.0% on the old version/);
    expect(fail.reasons.join('\n')).toMatch(/breaker open: 20\.0%/);
  });

  it('fails on update failures beyond the allowance and compares with the baseline when no old instance is left', () => {
    const r = rollout({ baseline: { instances: 10, breakerOpen: 0, crashloop: 0, silent: 0, failing: 0 } });
    const v = judge(r, { counts: { targeted: 4, updated: 3, failed: 1, rolledBack: 0, silent: 0 }, failedUids: ['x'], newGroup: groupStats([inst({ version: '2.0.0', lastSeen: NOW - 120_000 })], NOW), oldGroup: groupStats([], NOW) }, NOW);
    expect(v.result).toBe('fail');
    expect(v.reasons[0]).toMatch(/1 update failure\(s\) to 2\.0\.0 \(allowed 0\)/);
    expect(v.reasons[1]).toMatch(/silent: 100\.0% of 1 on 2\.0\.0 vs 0\.0% on the baseline at start/);
  });

  it('does not wait for a step instance that fell silent before updating, and judges its silence', () => {
    const r = stepped(BUCKETS);
    const a = analyzeStep(r, 0, [inst({ version: '2.0.0' }), inst({ lastSeen: NOW - 60_000 }), inst({ version: '2.0.0' })], NOW);
    expect(a.counts).toEqual({ targeted: 3, updated: 2, failed: 0, rolledBack: 0, silent: 1 });
    const v = judge({ ...r, baseline: { instances: 3, breakerOpen: 0, crashloop: 0, silent: 0, failing: 0 } }, a, NOW);
    expect(v.result).toBe('fail');
    expect(v.reasons[0]).toMatch(/silent before reporting 2\.0\.0: 1 of 3/);
  });

  it('analyses 10,000 instances well under a second', () => {
    const r = stepped(5000);
    const many = Array.from({ length: 10_000 }, (_, i) => inst({ version: i % 2 ? '2.0.0' : '1.0.0' }));
    const t0 = performance.now();
    const a = analyzeStep(r, 0, many, NOW);
    judge(r, a, NOW);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(a.counts.targeted).toBeGreaterThan(4000);
  });
});
