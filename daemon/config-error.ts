import type { ValidationError } from '../src/errors.ts';
import { AGENT_CONFIG_ERROR_MAX } from '../src/protocol/heartbeat.ts';

/**
 * The short form of a refused config for `agent.configError`: the error code and the first violation
 * (`PODPULSE_ERR_CONFIG_INVALID checks[dns-db].timeout: ...`), cut to the protocol's bound. The full report goes
 * to the log and the status file; a heartbeat only needs enough to say what to fix first.
 */
export function configErrorBrief(err: ValidationError): string {
  const v = err.violations[0];
  const first = v ? (v.path ? `${v.path}: ${v.message}` : v.message) : err.message;
  const more = err.violations.length > 1 ? ` (+${err.violations.length - 1} more)` : '';
  const text = `${err.code} ${first.replace(/\s+/g, ' ')}${more}`;
  return text.length <= AGENT_CONFIG_ERROR_MAX ? text : `${text.slice(0, AGENT_CONFIG_ERROR_MAX - 1)}…`;
}
