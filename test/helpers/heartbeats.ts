import { randomUUID } from 'node:crypto';
import type { CheckResult, Heartbeat } from '../../src/protocol/heartbeat.ts';

/** The API's answer body as tests read it: an ack or `{error: {...}}`. */
export interface ApiBody {
  error: { code: string; message: string; violations: { path: string; message: string }[] };
  [key: string]: unknown;
}

export interface BeatOptions {
  podUid?: string;
  bootId?: string;
  seq?: number;
  sentAt?: number;
  intervalMs?: number;
  namespace?: string;
  pod?: string;
  app?: string;
  node?: string;
  source?: 'worker' | 'daemon';
  checks?: CheckResult[];
}

export const okCheck = (id: string): CheckResult => ({ id, kind: 'dns', status: 'ok', code: 'OK', latencyMs: 2 });
export const failCheck = (id: string, code: CheckResult['code'] = 'DNS_NXDOMAIN'): CheckResult => ({ id, kind: 'dns', status: 'fail', code, latencyMs: 3, message: 'no such name' });
export const warnCheck = (id: string): CheckResult => ({ id, kind: 'http', status: 'warn', code: 'LATENCY_HIGH', latencyMs: 900, message: 'slow' });

/** A valid v1 heartbeat (already in parsed form), with every field overridable. */
export function beat(o: BeatOptions = {}): Heartbeat {
  const podUid = o.podUid ?? randomUUID();
  return {
    apiVersion: 'podpulse.io/v1',
    source: o.source ?? 'worker',
    instance: { podUid, namespace: o.namespace ?? 'shop', pod: o.pod ?? `web-${podUid.slice(0, 8)}`, node: o.node ?? 'node-1', app: o.app ?? 'web', tenant: 'acme', podIp: '10.0.0.7' },
    agent: { daemonVersion: '1.0.0', workerVersion: '1.0.0', configRevision: 'r1', breaker: 'closed', worker: 'running' },
    bootId: o.bootId ?? '11111111-1111-4111-8111-111111111111',
    seq: o.seq ?? 0,
    sentAt: new Date(o.sentAt ?? Date.now()).toISOString(),
    intervalMs: o.intervalMs ?? 10_000,
    dropped: 0,
    checks: o.checks ?? (o.source === 'daemon' ? [] : [okCheck('dns-db'), okCheck('http-api')]),
  };
}
