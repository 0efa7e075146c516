import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { instanceFromEnv } from '../../../src/agent/identity.ts';
import { CHECK_KINDS } from '../../../src/protocol/checks/check-config.ts';
import { Heartbeat, type CheckResult } from '../../../src/protocol/heartbeat.ts';
import { HeartbeatBuilder } from '../../../worker/heartbeat-builder.ts';

const env = { POD_NAME: 'checkout-7d9f8b6c5-x2x7z', POD_NAMESPACE: 'shop', POD_UID: '0b6c1d7e-3f1a-4c8e-9a55-2d7f3e8b9c10', NODE_NAME: 'node-a1', POD_IP: '10.1.2.3', PODPULSE_APP: 'checkout' };

function fourteenOk(): CheckResult[] {
  return CHECK_KINDS.map((kind, i) => ({ id: `${kind}-${i}`, kind, status: 'ok', code: 'OK', latencyMs: 3 + i, at: new Date().toISOString() }));
}

describe('HeartbeatBuilder', () => {
  it('builds valid heartbeats with one boot id and an increasing seq', () => {
    const b = new HeartbeatBuilder({ instance: instanceFromEnv(env).instance, version: '0.1.0', configRevision: 'r7' });
    const h0 = b.build({ checks: fourteenOk(), intervalMs: 10_000, dropped: 0 });
    const h1 = b.build({ checks: [], intervalMs: 10_000, dropped: 2 });
    expect(Heartbeat.safeParse(h0).success).toBe(true);
    expect(Heartbeat.safeParse(h1).success).toBe(true);
    expect([h0.seq, h1.seq]).toEqual([0, 1]);
    expect(h0.bootId).toBe(h1.bootId);
    expect(h0.bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(new HeartbeatBuilder({ instance: instanceFromEnv(env).instance, version: '0.1.0', configRevision: 'r7' }).bootId).not.toBe(h0.bootId);
    // Breaker closed and worker running are the defaults, left out on the wire.
    expect(h0.agent).toEqual({ daemonVersion: '0.1.0', workerVersion: '0.1.0', configRevision: 'r7' });
    expect(Heartbeat.parse(h0).agent).toEqual({ daemonVersion: '0.1.0', workerVersion: '0.1.0', configRevision: 'r7', breaker: 'closed', worker: 'running' });
    expect(h1.dropped).toBe(2);
    expect(h0.instance).toMatchObject({ pod: 'checkout-7d9f8b6c5-x2x7z', namespace: 'shop', node: 'node-a1', podIp: '10.1.2.3', app: 'checkout' });
  });

  it('keeps ok results compact and carries message, details and time only when not ok', () => {
    const b = new HeartbeatBuilder({ instance: instanceFromEnv(env).instance, version: '0.1.0', configRevision: '1' });
    const failing: CheckResult = { id: 'db', kind: 'dns', status: 'fail', code: 'DNS_NXDOMAIN', latencyMs: 4, at: '2026-01-01T00:00:00.000Z', message: 'no such name', details: { name: 'db.shop' } };
    const hb = b.build({ checks: [fourteenOk()[0]!, failing], intervalMs: 10_000, dropped: 0 });
    expect(hb.checks[0]).toStrictEqual(['dns-0', 'dns', 3]);
    expect(hb.checks[1]).toEqual(failing);
    expect('dropped' in hb).toBe(false);
    // The protocol fills the short form back in: readers always see status, code and dropped.
    const parsed = Heartbeat.parse(hb);
    expect(parsed.checks[0]).toEqual({ id: 'dns-0', kind: 'dns', status: 'ok', code: 'OK', latencyMs: 3 });
    expect(parsed.dropped).toBe(0);
  });

  it('rounds ok latencies to whole milliseconds', () => {
    const b = new HeartbeatBuilder({ instance: instanceFromEnv(env).instance, version: '0.1.0', configRevision: '1' });
    const hb = b.build({ checks: [{ id: 'tcp', kind: 'tcp', status: 'ok', code: 'OK', latencyMs: 0.4321 }, { id: 'dns', kind: 'dns', status: 'ok', code: 'OK', latencyMs: 12.5 }], intervalMs: 10_000, dropped: 0 });
    expect(hb.checks).toEqual([['tcp', 'tcp', 0], ['dns', 'dns', 13]]);
  });

  it('copies agent fields from the daemon but keeps its own version and config revision', () => {
    const b = new HeartbeatBuilder({ instance: instanceFromEnv(env).instance, version: '0.2.0', configRevision: '5' });
    b.setAgent({ daemonVersion: '0.1.0', breaker: 'half-open', breakerReason: 'cpu', workerVersion: '9.9.9', configRevision: '1', update: { current: '0.2.0', status: 'installed' } });
    expect(b.build({ checks: [], intervalMs: 10_000, dropped: 0 }).agent).toEqual({
      daemonVersion: '0.1.0', workerVersion: '0.2.0', configRevision: '5', breaker: 'half-open', breakerReason: 'cpu', update: { current: '0.2.0', status: 'installed' },
    });
    // Each agent-state message replaces the last: a reason or config error the daemon cleared disappears.
    b.setAgent({ daemonVersion: '0.1.0', breaker: 'closed', configError: 'PODPULSE_ERR_CONFIG_INVALID checks[x].timeout: too long' });
    expect(b.build({ checks: [], intervalMs: 10_000, dropped: 0 }).agent).toEqual({ daemonVersion: '0.1.0', workerVersion: '0.2.0', configRevision: '5', configError: 'PODPULSE_ERR_CONFIG_INVALID checks[x].timeout: too long' });
    b.setAgent({ daemonVersion: '0.1.0', breaker: 'closed' });
    expect(b.build({ checks: [], intervalMs: 10_000, dropped: 0 }).agent).toEqual({ daemonVersion: '0.1.0', workerVersion: '0.2.0', configRevision: '5' });
  });

  it('keeps a heartbeat of fourteen ok checks within 1 KiB of JSON with a full pod identity and long names', () => {
    // A pod as a cloud cluster names it: long node name, hashed pod name, tenant set; six-digit seq.
    const cloud = {
      POD_NAME: 'checkout-api-7f9c6d5b8-x2k4q', POD_NAMESPACE: 'payments-prod', POD_UID: '3f2b8c1e-9a4d-4e6f-b7c2-1d5e8f9a0b3c',
      NODE_NAME: 'ip-10-42-17-203.eu-west-1.compute.internal', POD_IP: '10.42.17.88', PODPULSE_APP: 'checkout-api', PODPULSE_TENANT: 'payments',
    };
    const b = new HeartbeatBuilder({ instance: instanceFromEnv(cloud).instance, version: '0.1.0', configRevision: 'a1b2c3d4' });
    const hb = { ...b.build({ checks: fourteenKinds(), intervalMs: 10_000, dropped: 0 }), seq: 123_456 };
    expect(Heartbeat.safeParse(hb).success).toBe(true);
    const json = JSON.stringify(hb);
    console.log(`heartbeat of 14 ok checks, full identity: ${json.length} bytes JSON, ${gzipSync(json).length} bytes gzip`);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(1024);
  });

  it('spends at most 30 bytes of JSON per ok result named after its kind', () => {
    // The tuple form: about 63 bytes when ok results carried status and code, about 38 as {id, kind, latencyMs}.
    const b = new HeartbeatBuilder({ instance: instanceFromEnv(env).instance, version: '0.1.0', configRevision: 'a1b2c3d4' });
    const empty = JSON.stringify(b.build({ checks: [], intervalMs: 10_000, dropped: 0 })).length;
    const full = JSON.stringify(b.build({ checks: fourteenKinds(), intervalMs: 10_000, dropped: 0 }));
    console.log(`heartbeat of 14 ok checks with a full pod identity: ${full.length} bytes JSON (${empty} without checks)`);
    expect((full.length - empty) / 14).toBeLessThanOrEqual(30);
  });
});

/** Fourteen ok results named after their kinds, with two- and three-digit latencies. */
function fourteenKinds(): CheckResult[] {
  return CHECK_KINDS.map((kind, i) => ({ id: kind, kind, status: 'ok', code: 'OK', latencyMs: 10 + i * 7.3 }));
}
