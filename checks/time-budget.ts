import type { CheckContext } from './check.ts';

/** Never plan a protocol timeout shorter than this, even when the runner's deadline is nearly due. */
const MIN_BUDGET_MS = 50;

/**
 * Milliseconds a check may give its own protocol-level timeout (DNS, connect, response). It ends a little before
 * the runner's deadline (10% of what is left, at most 250 ms) so the check can name the precise code, such as
 * DNS_TIMEOUT, instead of the runner reporting the generic CHECK_TIMEOUT.
 */
export function timeBudget(ctx: CheckContext): number {
  const left = ctx.deadline - ctx.now();
  return Math.max(MIN_BUDGET_MS, Math.floor(left - Math.min(250, left * 0.1)));
}
