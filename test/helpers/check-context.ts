import type { CheckContext } from '../../checks/check.ts';
import { createLogger } from '../../src/log/logger.ts';

/**
 * A minimal CheckContext for driving one check directly in a test: the signal aborts after `timeoutMs` (10 s by
 * default, generous for a loaded machine), the deadline matches it, the logger is silent and the state map is fresh.
 */
export function checkContext(overrides?: Partial<CheckContext> & { timeoutMs?: number }): CheckContext {
  const { timeoutMs = 10_000, ...rest } = overrides ?? {};
  return {
    signal: AbortSignal.timeout(timeoutMs),
    log: createLogger({ name: 'podpulse-test', level: 'silent' }),
    now: Date.now,
    deadline: Date.now() + timeoutMs,
    env: { ...process.env },
    state: new Map<string, unknown>(),
    ...rest,
  };
}
