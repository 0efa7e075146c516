import { describe, expect, it } from 'vitest';
import type * as z from 'zod/mini';
import { instanceFromEnv } from '../../../src/agent/identity.ts';
import { AgentConfig, BREAKER_DEFAULTS, BreakerConfig } from '../../../src/protocol/agent-config.ts';
import { CHECK_SPECS, type CheckKind } from '../../../src/protocol/checks/check-config.ts';
import { CommandTemplate } from '../../../src/protocol/command.ts';
import { AgentState, CheckResult, Heartbeat, Instance, WireCheckResult } from '../../../src/protocol/heartbeat.ts';
import { parseWith } from '../../../src/protocol/parse.ts';
import { HeartbeatBuilder } from '../../../worker/heartbeat-builder.ts';
import { toCheckResult } from '../../../worker/to-check-result.ts';

// Schemas a process does not parse are never built (z.lazy builds on first parse): a worker with three check kinds
// builds three spec schemas, and one that builds only valid heartbeats builds no heartbeat schema
// (docs/worker-footprint.md). zod keeps a built lazy schema on its definition as `_cachedInner`.
const built = (schema: z.core.$ZodType): boolean => (schema._zod.def as { _cachedInner?: unknown })._cachedInner !== undefined;

const pod = { POD_NAME: 'api-7d9f8b6c5-x2x7z', POD_NAMESPACE: 'shop', POD_UID: '0b6c1d7e-3f1a-4c8e-9a55-2d7f3e8b9c10', POD_IP: '10.1.2.3', PODPULSE_APP: 'api' };

// The tests run in order and share the module state: each looks at what the ones before it built.
describe('schemas built on first use', () => {
  it('a config with http, tcp and disk checks builds those three spec schemas and no breaker or command schema', () => {
    const r = parseWith(AgentConfig, {
      apiVersion: 'podpulse.io/v1',
      checks: [
        { id: 'web', kind: 'http', spec: { url: 'http://127.0.0.1:8080/healthz' } },
        { id: 'db', kind: 'tcp', spec: { host: 'db', port: 5432 } },
        { id: 'data', kind: 'disk', spec: { path: '/data' } },
      ],
    });
    expect(r.ok).toBe(true);
    const builtKinds = (Object.keys(CHECK_SPECS) as CheckKind[]).filter((k) => built(CHECK_SPECS[k]));
    expect(builtKinds.sort()).toEqual(['disk', 'http', 'tcp']);
    expect([built(BreakerConfig), built(CommandTemplate)]).toEqual([false, false]);
    // The breaker's written-out defaults are what its schema gives.
    expect(r.ok && r.value.breaker).toEqual(BREAKER_DEFAULTS);
    expect(BreakerConfig.parse({})).toEqual(BREAKER_DEFAULTS);
  });

  it('the worker builds valid results and heartbeats without building the zod result and heartbeat schemas', () => {
    const b = new HeartbeatBuilder({ instance: instanceFromEnv(pod).instance, version: '0.1.0', configRevision: 'r1' });
    const at = Date.parse('2026-01-01T00:00:00Z');
    const results = [
      toCheckResult('web', 'http', { status: 'ok', code: 'OK' }, 3.4, at),
      toCheckResult('db', 'tcp', { status: 'fail', code: 'TCP_REFUSED', message: 'connect refused', details: { target: 'db:5432' } }, 1, at),
    ];
    b.setAgent({ daemonVersion: '0.1.0', breaker: 'open', breakerReason: 'cpu', update: { desired: '0.2.0', current: '0.1.0', status: 'installing' } });
    const hb = b.build({ checks: results, intervalMs: 10_000, dropped: 3 });
    expect([Heartbeat, WireCheckResult, CheckResult, Instance, AgentState].map(built)).toEqual([false, false, false, false, false]);
    // What the worker sent is valid by the full schema, and reads back as the results it was built from.
    const parsed = Heartbeat.parse(hb);
    expect(parsed.checks).toEqual([{ id: 'web', kind: 'http', status: 'ok', code: 'OK', latencyMs: 3 }, results[1]]);
    expect(parsed.agent).toMatchObject({ breaker: 'open', breakerReason: 'cpu', worker: 'running' });
  });

  it('a result or heartbeat the fast path cannot vouch for goes to zod: accepted when valid, refused with its message', () => {
    // An IPv6 pod IP is valid, but only zod checks it.
    const v6 = new HeartbeatBuilder({ instance: instanceFromEnv({ ...pod, POD_IP: 'fd00::1:2' }).instance, version: '0.1.0', configRevision: 'r1' });
    expect(Heartbeat.safeParse(v6.build({ checks: [], intervalMs: 10_000, dropped: 0 })).success).toBe(true);
    const bad = new HeartbeatBuilder({ instance: instanceFromEnv({ ...pod, PODPULSE_APP: 'not a label!' }).instance, version: '0.1.0', configRevision: 'r1' });
    expect(() => bad.build({ checks: [], intervalMs: 10_000, dropped: 0 })).toThrow(/instance\.app/);
    // A code the status does not allow becomes CHECK_ERROR naming the problem, as before.
    const r = toCheckResult('db', 'tcp', { status: 'ok', code: 'TCP_REFUSED' }, 1, Date.now());
    expect(r).toMatchObject({ status: 'unknown', code: 'CHECK_ERROR' });
    expect(r.message).toMatch(/TCP_REFUSED cannot be reported with status "ok"/);
  });
});
