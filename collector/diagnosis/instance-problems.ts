import type { AgentState, CheckResult, Instance } from '../../src/protocol/index.ts';
import { formatDuration } from '../../src/units.ts';
import type { AlertTimer } from './alert-timer.ts';
import type { AlertTiming } from './diagnosis-config.ts';
import type { FlapDetector } from './flap-detector.ts';
import type { Problem } from './problem.ts';
import { checkTarget, type CheckTarget } from './target-key.ts';

/**
 * What the diagnosis keeps per check of one instance: 10,000 instances of 3 to 14 checks each make this the bulk of
 * the diagnosis's memory, so the timers are allocated only once they have something to time (an inactive timer
 * and a detector that never saw a transition behave exactly like absent ones).
 */
export interface CheckTrack {
  id: string;
  result: CheckResult;
  /** The last not-ok result, which names the problem even while it resolves. */
  lastBad: CheckResult | undefined;
  bad: boolean | undefined;
  /** Created when the check first reports a problem. */
  alert: AlertTimer | undefined;
  /** Created at the check's first status change. */
  flap: FlapDetector | undefined;
  /** The flapping event's own `for` timer (created on the first flapping episode). */
  flapAlert?: AlertTimer;
  /** Resolved once per check (not per beat): the per-kind/per-id lookup would otherwise run 14× per heartbeat. */
  timing: AlertTiming;
}

const where = (i: Instance): string => `${i.namespace}/${i.pod}`;
const base = (kind: Problem['kind'], i: Instance, suffix = ''): Pick<Problem, 'key' | 'kind' | 'podUid' | 'instance'> => ({
  key: `${kind}:${i.podUid}${suffix}`,
  kind,
  podUid: i.podUid,
  instance: i,
});

/** A failing (or warning) check. */
export function checkProblem(i: Instance, id: string, track: CheckTrack): Problem {
  const r = track.lastBad ?? track.result;
  return {
    ...base('check', i, `:${id}`),
    severity: r.status === 'fail' ? 'critical' : 'warning',
    since: track.alert?.badSince ?? 0,
    summary: `${r.kind} ${id} ${r.code} on ${where(i)}${r.message ? `: ${r.message}` : ''}`,
    code: r.code,
    checkId: id,
    checkKind: r.kind,
    target: checkTarget(r),
    evidence: [{ kind: 'check', subject: `${where(i)}#${id}`, code: r.code, value: r.status, ...(r.message ? { field: 'message' } : {}) }],
  };
}

/** A check that changes status too often; grouped across instances like a failing check, under its own key. */
export function flappingProblem(i: Instance, id: string, track: CheckTrack, flap: { maxTransitions: number; windowMs: number }): Problem {
  const r = track.lastBad ?? track.result;
  return {
    ...base('flapping', i, `:${id}`),
    severity: 'warning',
    since: track.flap?.lastTransitionAt ?? 0,
    summary: `${r.kind} ${id} on ${where(i)} is flapping: more than ${flap.maxTransitions} status changes within ${formatDuration(flap.windowMs)}`,
    code: r.code,
    checkId: id,
    checkKind: r.kind,
    target: checkTarget(r),
    evidence: [{ kind: 'check', subject: `${where(i)}#${id}`, code: r.code, field: 'transitions', value: flap.maxTransitions + 1 }],
  };
}

/** No heartbeat for the silence threshold. */
export function silentProblem(i: Instance, since: number, thresholdMs: number, lastHeardAt: number | undefined): Problem {
  return {
    ...base('silent', i),
    severity: 'warning',
    since,
    summary: `${where(i)} is silent: no heartbeat for ${formatDuration(thresholdMs)}`,
    evidence: [{ kind: 'heartbeat', subject: where(i), field: 'lastHeardAt', value: new Date(lastHeardAt ?? 0).toISOString() }],
  };
}

/**
 * Groups broken probes by cause and worker version: a bad worker release breaks many probes the same way, and
 * that is one event (`update to 0.2.0 failed on 120 instances of 9 apps`), not 120.
 */
export function probeTarget(agent: AgentState): CheckTarget {
  if (agent.update?.status === 'failed') {
    const t = `update to ${agent.update.desired ?? '?'} failed`;
    return { target: t, key: `probe|${t}` };
  }
  const t = agent.worker === 'crashloop' ? `worker ${agent.workerVersion} crashloop` : `breaker open on worker ${agent.workerVersion}`;
  return { target: t, key: `probe|${t}` };
}

/** The sidecar itself is broken (breaker open, worker crashloop, update failed). */
export function brokenProblem(i: Instance, agent: AgentState, reason: string, since: number): Problem {
  const evidence: Problem['evidence'] = [
    { kind: 'heartbeat', subject: where(i), field: 'agent.breaker', value: agent.breaker },
    { kind: 'heartbeat', subject: where(i), field: 'agent.worker', value: agent.worker },
  ];
  if (agent.update) evidence.push({ kind: 'heartbeat', subject: where(i), field: 'agent.update.status', value: agent.update.status });
  return { ...base('probe-broken', i), severity: 'warning', since, summary: `probe on ${where(i)} is broken: ${reason}`, target: probeTarget(agent), evidence };
}
