import { randomUUID } from 'node:crypto';
import { API_VERSION, type CheckResult, type Heartbeat } from '../../src/protocol/index.ts';

/**
 * Deep-ish overrides: nested `instance` and `agent` fields merge with the defaults instead of replacing them.
 * They are in the parsed form (check results with status and code), which is what the factory returns.
 */
export type HeartbeatOverrides = Partial<Omit<Heartbeat, 'instance' | 'agent'>> & {
  instance?: Partial<Heartbeat['instance']>;
  agent?: Partial<Heartbeat['agent']>;
};

/** A check result that validates: `ok` with code OK by default; pass status + code (and message) for the rest. */
export function checkResult(overrides: Partial<CheckResult> = {}): CheckResult {
  const status = overrides.status ?? 'ok';
  const base: CheckResult = {
    id: 'dns-db',
    kind: 'dns',
    status,
    code: status === 'ok' ? 'OK' : status === 'unknown' ? 'CHECK_ERROR' : status === 'warn' ? 'LATENCY_HIGH' : 'DNS_NXDOMAIN',
    latencyMs: 3,
    ...(status === 'ok' ? {} : { message: `${status} result` }),
  };
  return { ...base, ...overrides };
}

/**
 * A heartbeat that validates against the v1 schema: one healthy worker heartbeat with a fresh pod uid and boot id
 * unless overridden. `instance` and `agent` overrides merge field by field.
 */
export function heartbeat(overrides: HeartbeatOverrides = {}): Heartbeat {
  const { instance, agent, ...rest } = overrides;
  const podUid = instance?.podUid ?? randomUUID();
  return {
    apiVersion: API_VERSION,
    source: 'worker',
    bootId: randomUUID(),
    seq: 0,
    sentAt: new Date().toISOString(),
    intervalMs: 10_000,
    dropped: 0,
    checks: [checkResult()],
    ...rest,
    instance: {
      namespace: 'default',
      pod: `app-${podUid.slice(0, 8)}`,
      app: 'app',
      tenant: '',
      ...instance,
      podUid,
    },
    agent: {
      daemonVersion: '0.1.0',
      workerVersion: '0.1.0',
      configRevision: '1',
      breaker: 'closed',
      worker: 'running',
      ...agent,
    },
  };
}
