import type { AgentState, CheckResult } from '../../src/protocol/index.ts';
import type { InstanceStatus } from './transition.ts';

/** Why the probe itself is broken, from the agent state a heartbeat carries (daemon-sourced ones too), or undefined. */
export function probeBrokenReason(agent: AgentState): string | undefined {
  const reasons: string[] = [];
  if (agent.breaker === 'open') reasons.push(`breaker open${agent.breakerReason ? ` (${agent.breakerReason})` : ''}`);
  if (agent.worker === 'crashloop') reasons.push('worker crashloop');
  if (agent.update?.status === 'failed') reasons.push(`update to ${agent.update.desired ?? '?'} failed${agent.update.error ? `: ${agent.update.error}` : ''}`);
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/**
 * The status that check results and agent state give, before silence and retirement: probe-broken beats failing
 * (results of a broken probe are not to be trusted), failing beats degraded. `unknown` results do not degrade an
 * instance: the check could not decide, which says nothing about the dependency.
 */
export function statusFromResults(checks: Iterable<CheckResult>, brokenReason: string | undefined): { status: InstanceStatus; reason: string } {
  if (brokenReason !== undefined) return { status: 'probe-broken', reason: brokenReason };
  const fails: string[] = [];
  const warns: string[] = [];
  for (const c of checks) {
    if (c.status === 'fail') fails.push(`${c.id} ${c.code}`);
    else if (c.status === 'warn') warns.push(`${c.id} ${c.code}`);
  }
  if (fails.length > 0) return { status: 'failing', reason: listReasons(fails) };
  if (warns.length > 0) return { status: 'degraded', reason: listReasons(warns) };
  return { status: 'healthy', reason: 'all checks ok' };
}

function listReasons(items: string[]): string {
  return items.length <= 3 ? items.join(', ') : `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
}
