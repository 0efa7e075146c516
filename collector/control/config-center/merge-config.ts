import type { AgentConfigInput } from '../../../src/protocol/agent-config.ts';
import type { CheckConfig } from '../../../src/protocol/checks/check-config.ts';
import type { CommandTemplate } from '../../../src/protocol/command.ts';
import { API_VERSION } from '../../../src/protocol/common.ts';
import type { ConfigDocument } from './config-document.ts';

/** The merged documents before the release is resolved: an AgentConfig input plus the desired version, if any. */
export interface MergedConfig {
  config: AgentConfigInput;
  releaseVersion?: string;
}

/**
 * Merges documents broadest first: scalar fields take the last value set; checks merge per id and command templates
 * per name, a later document replacing the whole entry in place (so check order stays stable across edits);
 * `removeChecks` drops what broader documents set (a narrower document may add the id back).
 */
export function mergeDocuments(docs: readonly ConfigDocument[]): MergedConfig {
  const heartbeat: Record<string, string> = {};
  const defaults: Record<string, string> = {};
  const breaker: Record<string, unknown> = {};
  const checks = new Map<string, CheckConfig>();
  const templates = new Map<string, CommandTemplate>();
  let releaseVersion: string | undefined;
  for (const d of docs) {
    Object.assign(heartbeat, defined(d.heartbeat));
    Object.assign(defaults, defined(d.defaults));
    Object.assign(breaker, defined(d.breaker));
    for (const id of d.removeChecks ?? []) checks.delete(id);
    for (const c of d.checks ?? []) checks.set(c.id, c);
    for (const t of d.commandTemplates ?? []) templates.set(t.name, t);
    if (d.release) releaseVersion = d.release.version;
  }
  const config: AgentConfigInput = {
    apiVersion: API_VERSION,
    heartbeat: heartbeat,
    defaults: defaults,
    breaker: breaker,
    checks: [...checks.values()],
    commandTemplates: [...templates.values()],
  };
  return releaseVersion === undefined ? { config } : { config, releaseVersion };
}

function defined<T extends object>(o: T | undefined): Partial<T> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
