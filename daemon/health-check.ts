import { readFile } from 'node:fs/promises';
import { statusFile, type DaemonStatus } from './health.ts';

/** The answer of a health check: healthy or not, why, and the status as read. */
export interface HealthAnswer {
  healthy: boolean;
  reason: string;
  status?: DaemonStatus;
}

/**
 * Reads `<stateDir>/status.json` and decides whether the daemon is alive: the file exists, was refreshed within
 * `maxAgeMs`, and the daemon is running (not stopping). The worker's own state is reported, not judged: a
 * crash-looping worker must not get the sidecar container restarted, the daemon is what keeps it visible.
 */
export async function readHealth(stateDir: string, maxAgeMs: number, now: number = Date.now()): Promise<HealthAnswer> {
  let status: DaemonStatus;
  try {
    status = JSON.parse(await readFile(statusFile(stateDir), 'utf8')) as DaemonStatus;
  } catch (err) {
    return { healthy: false, reason: `cannot read ${statusFile(stateDir)}: ${(err as Error).message}` };
  }
  const age = now - Date.parse(status.updatedAt);
  if (!Number.isFinite(age)) return { healthy: false, reason: 'status file has no valid updatedAt', status };
  if (age > maxAgeMs) return { healthy: false, reason: `status is ${Math.round(age / 1000)}s old (limit ${Math.round(maxAgeMs / 1000)}s)`, status };
  if (status.daemon !== 'running') return { healthy: false, reason: `daemon is ${status.daemon}`, status };
  return { healthy: true, reason: `daemon running, worker ${status.worker}, breaker ${status.breaker}`, status };
}
