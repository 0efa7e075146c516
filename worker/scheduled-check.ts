import type { CheckDefinition } from '../checks/check.ts';
import type { AgentConfig } from '../src/protocol/agent-config.ts';
import type { CheckKind } from '../src/protocol/checks/check-config.ts';
import { ms } from '../src/units.ts';

/** One configured check with its schedule resolved to milliseconds (defaults applied). */
export interface ScheduledCheck {
  id: string;
  kind: CheckKind;
  /** The validated spec of `kind`. */
  spec: unknown;
  intervalMs: number;
  timeoutMs: number;
}

/**
 * The check kinds a runner can run: their definitions (tests pass a few small real checks), or loaders of them
 * (main.ts passes checks/registry.ts, where a kind's module loads when a check of that kind first runs). The runner
 * and scheduler never import the registry themselves.
 */
export type CheckRegistry = { readonly [K in CheckKind]?: CheckDefinition<K> };

/** Loaders of check kinds' definitions (checks/registry.ts). */
export type CheckLoaders = { readonly [K in CheckKind]?: () => Promise<CheckDefinition<K>> };

/** The checks of a validated AgentConfig, with `defaults.interval`/`defaults.timeout` filled in. */
export function scheduledChecks(config: AgentConfig): ScheduledCheck[] {
  return config.checks.map((c) => ({
    id: c.id,
    kind: c.kind,
    spec: c.spec,
    intervalMs: ms(c.interval ?? config.defaults.interval),
    timeoutMs: ms(c.timeout ?? config.defaults.timeout),
  }));
}

/** Two checks with the same key run the same way; a config update keeps their schedule and history. */
export function checkKey(c: ScheduledCheck): string {
  return JSON.stringify([c.kind, c.intervalMs, c.timeoutMs, c.spec]);
}
