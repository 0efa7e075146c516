import type { Outcome } from '../checks/check.ts';
import { fastCheckResult } from '../src/protocol/heartbeat-fast-path.ts';
import { CheckResult, HEARTBEAT_LIMITS } from '../src/protocol/heartbeat.ts';
import type { CheckKind } from '../src/protocol/checks/check-config.ts';

const DETAIL_KEY = /^[A-Za-z0-9_.-]{1,64}$/;

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Turns a check's outcome into a protocol CheckResult: ok carries no message or details, text is cut to the
 * heartbeat limits, latency is whole milliseconds. An outcome the protocol would refuse (a code not allowed with
 * its status) becomes `unknown` CHECK_ERROR naming the problem, so one bad check never spoils a heartbeat.
 */
export function toCheckResult(id: string, kind: CheckKind, outcome: Outcome, latencyMs: number, at: number): CheckResult {
  const r: Record<string, unknown> = {
    id,
    kind,
    status: outcome.status,
    code: outcome.code,
    latencyMs: Math.max(0, Math.min(86_400_000, Math.round(latencyMs))),
    at: new Date(at).toISOString(),
  };
  if (outcome.status !== 'ok') {
    if (outcome.message !== undefined) r.message = cut(String(outcome.message), HEARTBEAT_LIMITS.message);
    if (outcome.details) {
      const details: Record<string, string | number | boolean | null> = {};
      for (const [k, v] of Object.entries(outcome.details).slice(0, HEARTBEAT_LIMITS.detailKeys)) {
        if (!DETAIL_KEY.test(k)) continue;
        details[k] = typeof v === 'string' ? cut(v, HEARTBEAT_LIMITS.detailValue) : typeof v === 'number' && !Number.isFinite(v) ? null : v;
      }
      if (Object.keys(details).length > 0) r.details = details;
    }
  }
  // The hand-written validator is the schema's subset (heartbeat-fast-path.ts): zod, built on first use, is asked
  // only for what it refuses, to accept it or to word why not.
  const fast = fastCheckResult(r);
  if (fast) return fast;
  const parsed = CheckResult.safeParse(r);
  if (parsed.success) return parsed.data;
  const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'result'}: ${i.message}`).join('; ');
  return {
    id,
    kind,
    status: 'unknown',
    code: 'CHECK_ERROR',
    latencyMs: r.latencyMs as number,
    at: r.at as string,
    message: cut(`check returned an invalid result (${why})`, HEARTBEAT_LIMITS.message),
  };
}
