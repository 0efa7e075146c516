import { createHash } from 'node:crypto';

/**
 * The stable identity of a problem: sha256 over the event type and its grouping key, as 32 hex digits. The same
 * problem gets the same fingerprint on every replica and across restarts, so sinks and the store dedup on it.
 */
export function fingerprint(type: string, groupKey: string): string {
  return createHash('sha256').update(`${type}\n${groupKey}`).digest('hex').slice(0, 32);
}
