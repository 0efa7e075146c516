import { z } from 'zod';
import { dnsLabel, duration, labelValue, ratio, version } from '../../../src/protocol/common.ts';

/** Which instances a rollout moves; every field given must match (an empty selector is the whole fleet). */
export const RolloutSelector = z.strictObject({
  tenant: z.optional(labelValue),
  namespace: z.optional(dnsLabel),
  app: z.optional(labelValue.check(z.minLength(1))),
});
export type RolloutSelector = z.output<typeof RolloutSelector>;

/** One step: a share of the selected instances (cumulative), or named canary instances. */
export const RolloutStep = z.union([
  z.strictObject({ percent: z.number().gt(0).max(100) }),
  z.strictObject({ instances: z.array(z.uuid().transform((u) => u.toLowerCase())).min(1).max(1000) }),
]);
export type RolloutStep = z.output<typeof RolloutStep>;

/** How each step is judged: new-version instances against old-version ones (or the baseline taken at start). */
export const AnalysisSpec = z.strictObject({
  /** Observation time once the step's instances run the target version. */
  window: z._default(duration, '5m'),
  /** Longest wait for the step's instances to report the target version; the rest count as update failures. */
  updateTimeout: z._default(duration, '10m'),
  /** Update failures (failed or rolled-back updates to the target) a step tolerates. */
  maxUpdateFailures: z.number().int().min(0).default(0),
  /** How much higher (absolute share) the new group's breaker/crashloop/silent/failing rate may be than the old group's. */
  tolerance: z._default(ratio, 0.1),
});
export type AnalysisSpec = z.output<typeof AnalysisSpec>;

export const DEFAULT_STEPS: RolloutStep[] = [{ percent: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }];

/** `POST /api/v1/rollouts`. */
export const RolloutRequest = z
  .strictObject({
    target: version,
    selector: RolloutSelector.default({}),
    steps: z.array(RolloutStep).min(1).max(20).default(DEFAULT_STEPS),
    analysis: AnalysisSpec.prefault({}),
  })
  .superRefine((r, ctx) => {
    let last = 0;
    r.steps.forEach((s, i) => {
      if ('percent' in s) {
        if (s.percent < last) ctx.addIssue({ code: 'custom', path: ['steps', i, 'percent'], message: `must not be below the previous step's ${last}` });
        last = s.percent;
      }
    });
  });
export type RolloutRequest = z.output<typeof RolloutRequest>;

export const ROLLOUT_STATUSES = ['running', 'paused', 'succeeded', 'failed', 'aborted'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

/** The numbers behind a verdict, per group. */
export interface GroupStats {
  instances: number;
  breakerOpen: number;
  crashloop: number;
  silent: number;
  failing: number;
}

export interface StepCounts {
  /** Instances in this step (cumulative with earlier steps). */
  targeted: number;
  /** Reporting the target version. */
  updated: number;
  /** Reporting a failed or rolled-back update to the target. */
  failed: number;
  /** After a failed rollout: instances of the step back on another version. */
  rolledBack: number;
  /** Silent before reporting the target: they cannot update, so the step does not wait for them (judged as silent). */
  silent: number;
}

export interface StepVerdict {
  at: number;
  result: 'pass' | 'fail';
  /** Why, one line per rule that failed (or "all checks within tolerance"). */
  reasons: string[];
  newGroup: GroupStats;
  oldGroup: GroupStats;
  updateFailures: number;
}

export interface StepState {
  /** Instances whose bucket is below this (0..10000) are in the step; named canaries are in regardless. */
  cutoff: number;
  startedAt: number;
  phase: 'updating' | 'observing' | 'passed' | 'failed';
  observingSince?: number;
  counts: StepCounts;
  verdict?: StepVerdict;
}

/** A rollout as stored (record kind `rollout`). */
export interface Rollout {
  id: string;
  target: string;
  selector: RolloutSelector;
  steps: RolloutStep[];
  analysis: AnalysisSpec;
  status: RolloutStatus;
  /** Why it stopped or holds (failed analysis, abort, pin). */
  reason?: string;
  /** Set while the rollout waits instead of moving: the fleet is pinned. */
  hold?: string;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  /** Versions the selected instances ran when the rollout started, with counts. */
  fromVersions: Record<string, number>;
  /** Rates of the selected instances at start: the comparison for a step with no old-version instances left. */
  baseline: GroupStats;
  currentStep: number;
  stepStates: StepState[];
}

/** Whether a rollout's release still applies to the instances it reached. */
/** Instances not heard from for this long are gone pods, not part of a rollout's selection. */
export const SELECTION_MAX_AGE_MS = 10 * 60_000;

export const emptyCounts = (): StepCounts => ({ targeted: 0, updated: 0, failed: 0, rolledBack: 0, silent: 0 });

export function rolloutApplies(r: Rollout): boolean {
  return r.status === 'running' || r.status === 'paused' || r.status === 'succeeded';
}
