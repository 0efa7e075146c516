import { describe, expect, it } from 'vitest';
import { checkResult } from '../../helpers/heartbeat-factory.ts';
import { Driver, T0 } from './driver.ts';

const ok = [checkResult({ id: 'dns-db' }), checkResult({ id: 'tcp-db', kind: 'tcp' })];
const warn = [checkResult({ id: 'dns-db' }), checkResult({ id: 'tcp-db', kind: 'tcp', status: 'warn', code: 'LATENCY_HIGH' })];
const fail = [checkResult({ id: 'dns-db', status: 'fail', code: 'DNS_NXDOMAIN' }), checkResult({ id: 'tcp-db', kind: 'tcp' })];

describe('instance state machine', () => {
  it('registers an instance as healthy on its first all-ok heartbeat', () => {
    const t = new Driver();
    const a = t.pod(1);
    t.beat(a, ok);
    expect(t.transitions).toEqual([{ podUid: a, from: 'unknown', to: 'healthy', at: T0, reason: 'all checks ok', historyOnly: false }]);
  });

  it('moves healthy → degraded on a warn, → failing on a fail, and back to healthy, naming the check', () => {
    const t = new Driver();
    const a = t.pod(1);
    t.beat(a, ok);
    t.beat(a, warn);
    t.beat(a, fail);
    t.beat(a, ok);
    expect(t.transitions.map((x) => x.to)).toEqual(['healthy', 'degraded', 'failing', 'healthy']);
    expect(t.transitions[1]!.reason).toBe('tcp-db LATENCY_HIGH');
    expect(t.transitions[2]!.reason).toBe('dns-db DNS_NXDOMAIN');
  });

  it('does not degrade an instance for a check that answers unknown (the check could not decide)', () => {
    const t = new Driver();
    const a = t.pod(1);
    t.beat(a, [checkResult({ id: 'dns-db', status: 'unknown', code: 'CHECK_TIMEOUT' })]);
    expect(t.d.instance(a)!.status).toBe('healthy');
  });

  it('turns silent after 3 intervals when the interval is 10 s or more… but never before 30 s', () => {
    const t = new Driver();
    const a = t.pod(1, { intervalMs: 20_000 });
    const b = t.pod(2, { intervalMs: 5_000 });
    t.beat(a, ok);
    t.beat(b, ok);
    t.run(29_000, () => null);
    expect(t.transitions.filter((x) => x.to === 'silent')).toEqual([]);
    t.run(1_000, () => null);
    expect(t.transitions.filter((x) => x.to === 'silent').map((x) => [x.podUid, x.at])).toEqual([[b, T0 + 30_000]]);
    t.run(30_000, () => null);
    expect(t.transitions.filter((x) => x.to === 'silent').map((x) => [x.podUid, x.at])).toEqual([[b, T0 + 30_000], [a, T0 + 60_000]]);
    expect(t.transitions.at(-1)!.reason).toBe('no heartbeat for 1m');
  });

  it('leaves silent on the next heartbeat and resolves its silence event', () => {
    const t = new Driver();
    const a = t.pod(1);
    t.beat(a, ok);
    t.run(90_000, () => null);
    expect(t.of('instance-silent', 'firing')).toHaveLength(1);
    t.beat(a, ok);
    expect(t.transitions.map((x) => x.to)).toEqual(['healthy', 'silent', 'healthy']);
    expect(t.of('instance-silent', 'resolved')).toHaveLength(1);
  });

  it('is probe-broken when the breaker is open, even though the checks were ok', () => {
    const t = new Driver();
    const a = t.pod(1);
    t.beat(a, ok);
    t.beat(a, ok, { agent: { breaker: 'open', breakerReason: 'worker rss 120 MB > 96 MB' } });
    expect(t.transitions.at(-1)).toMatchObject({ to: 'probe-broken', reason: 'breaker open (worker rss 120 MB > 96 MB)' });
  });

  it('is probe-broken from a daemon-sourced heartbeat reporting a worker crashloop, keeping the last check results', () => {
    const t = new Driver();
    const a = t.pod(1);
    t.beat(a, fail);
    t.beat(a, [], { source: 'daemon', agent: { worker: 'crashloop' } });
    expect(t.transitions.at(-1)).toMatchObject({ from: 'failing', to: 'probe-broken', reason: 'worker crashloop' });
    expect(t.d.instance(a)!.checks.map((c) => c.code)).toEqual(['DNS_NXDOMAIN', 'OK']);
  });

  it('is probe-broken when a worker update failed; fires one event after its for duration and resolves after hysteresis', () => {
    const t = new Driver();
    const a = t.pod(1, { agent: { update: { desired: '0.2.0', current: '0.1.0', status: 'failed', error: 'sha256 mismatch' } } });
    t.beat(a, ok);
    expect(t.transitions.at(-1)).toMatchObject({ to: 'probe-broken', reason: 'update to 0.2.0 failed: sha256 mismatch' });
    t.run(20_000, () => ok);
    expect(t.of('probe-broken')).toEqual([]);
    t.run(60_000, () => ok);
    // Eight more heartbeats report the same failed update: still one event, updated in place.
    expect(t.of('probe-broken')).toHaveLength(1);
    expect(t.of('probe-broken')[0]).toMatchObject({ status: 'firing', data: { summary: 'probe on default/app-00000000 is broken: update to 0.2.0 failed: sha256 mismatch' } });
    const fixed = { agent: { update: { current: '0.2.0', status: 'installed' as const } } };
    t.beat(a, ok, fixed);
    expect(t.transitions.at(-1)!.to).toBe('healthy');
    t.now += 10_000;
    t.beat(a, ok, fixed);
    expect(t.of('probe-broken', 'resolved')).toEqual([]);
    t.now += 20_000;
    t.beat(a, ok, fixed);
    expect(t.of('probe-broken', 'resolved')).toHaveLength(1);
  });

  it('retires an instance on request, resolving its firing events, and ignores its later heartbeats', () => {
    const t = new Driver({ checks: { forMs: 0 } });
    const a = t.pod(1);
    t.beat(a, fail);
    t.run(1000, () => fail);
    expect(t.of('check-failing', 'firing')).toHaveLength(1);
    t.collect(t.d.retire(a, t.now));
    expect(t.transitions.at(-1)).toMatchObject({ to: 'retired', reason: 'pod deleted' });
    expect(t.of('check-failing', 'resolved')).toHaveLength(1);
    t.beat(a, fail);
    t.run(120_000, () => null);
    expect(t.transitions.at(-1)!.to).toBe('retired');
    expect(t.of('instance-silent')).toEqual([]);
  });

  it('forgets retired instances after retiredMs, and retires then forgets instances silent for silentMs', () => {
    const t = new Driver({ forget: { retiredMs: 60_000, silentMs: 300_000 } });
    const a = t.pod(1);
    const b = t.pod(2);
    t.run(20_000, () => ok);
    t.collect(t.d.retire(a, t.now));
    t.run(59_000, (p) => (p === b ? null : ok));
    expect(t.d.size).toBe(2);
    t.run(1_000, (p) => (p === b ? null : ok));
    expect(t.d.instance(a)).toBeUndefined();
    t.run(400_000, () => null);
    expect(t.transitions.filter((x) => x.podUid === b).map((x) => x.to)).toEqual(['healthy', 'silent', 'retired']);
    expect(t.transitions.at(-1)!.reason).toBe('forgotten after 5m of silence');
    expect(t.of('instance-silent').map((e) => e.status)).toEqual(['firing', 'resolved']);
    t.run(60_000, () => null);
    expect(t.d.size).toBe(0);
  });
});
