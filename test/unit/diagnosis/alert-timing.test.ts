import { describe, expect, it } from 'vitest';
import { checkResult } from '../../helpers/heartbeat-factory.ts';
import { Driver, T0 } from './driver.ts';

const ok = [checkResult({ id: 'dns-db' })];
const fail = [checkResult({ id: 'dns-db', status: 'fail', code: 'DNS_NXDOMAIN', details: { target: 'mysql.prod.svc' } })];
const timeout = [checkResult({ id: 'dns-db', status: 'fail', code: 'DNS_TIMEOUT', details: { target: 'mysql.prod.svc' } })];

describe('for durations', () => {
  it('fires nothing for a fail shorter than its for duration (20 s against 30 s)', () => {
    const t = new Driver();
    const a = t.pod(1);
    t.run(30_000, () => ok);
    t.run(20_000, () => fail);
    t.run(120_000, () => ok);
    expect(t.transitions.some((x) => x.podUid === a && x.to === 'failing')).toBe(true);
    expect(t.events).toEqual([]);
  });

  it('fires one event once the fail has lasted its for duration, and keeps it one event while it persists', () => {
    const t = new Driver();
    t.pod(1);
    t.run(10_000, () => ok);
    // The first fail arrives at 20 s: the event is due at 50 s.
    t.run(39_000, () => fail);
    expect(t.events).toEqual([]);
    t.run(1_000, () => fail);
    expect(t.events.map((e) => [e.type, e.status, e.time])).toEqual([['io.podpulse.check-failing', 'firing', new Date(T0 + 50_000).toISOString()]]);
    t.run(600_000, () => fail);
    expect(t.events).toHaveLength(1);
    expect(t.events[0]!.data.summary).toBe('dns dns-db DNS_NXDOMAIN on default/app-00000000: fail result');
  });

  it('takes the for duration of the check id over the kind over the default', () => {
    const t = new Driver({ checks: { forMs: 60_000, byKind: { dns: { forMs: 20_000 } }, byId: { 'dns-cache': { forMs: 0 } } } });
    t.pod(1);
    const both = [fail[0]!, checkResult({ id: 'dns-cache', status: 'fail', code: 'DNS_SERVFAIL' })];
    t.run(10_000, () => both);
    expect(t.of('check-failing', 'firing').map((e) => e.data.labels!['check'])).toEqual(['dns-cache']);
    t.run(20_000, () => both);
    expect(t.of('check-failing', 'firing').map((e) => e.data.labels!['check'])).toEqual(['dns-cache', 'dns-db']);
  });

  it('updates the one firing event in place when the reason code changes (rate-limited, same fingerprint)', () => {
    const t = new Driver({ events: { updateMinIntervalMs: 60_000 } });
    t.pod(1);
    t.run(40_000, () => fail);
    t.run(30_000, () => timeout);
    expect(t.events).toHaveLength(1);
    t.run(40_000, () => timeout);
    expect(t.events.map((e) => e.status)).toEqual(['firing', 'firing']);
    expect(t.events[1]!.fingerprint).toBe(t.events[0]!.fingerprint);
    expect(t.events[1]!.id).not.toBe(t.events[0]!.id);
    expect(t.events[1]!.data.evidence[0]).toMatchObject({ code: 'DNS_TIMEOUT' });
  });
});

describe('hysteresis', () => {
  it('does not resolve on a short ok amid failures, and resolves once ok for the resolve duration', () => {
    const t = new Driver();
    t.pod(1);
    t.run(40_000, () => fail);
    expect(t.of('check-failing', 'firing')).toHaveLength(1);
    t.run(20_000, () => ok);
    t.run(20_000, () => fail);
    expect(t.of('check-failing', 'resolved')).toEqual([]);
    // ok again from 90 s: resolved at 120 s.
    t.run(39_000, () => ok);
    expect(t.of('check-failing', 'resolved')).toEqual([]);
    t.run(1_000, () => ok);
    expect(t.of('check-failing', 'resolved')).toHaveLength(1);
    expect(t.events).toHaveLength(2);
  });

  it('neither resolves nor starts anything on unknown results (the check cannot decide)', () => {
    const t = new Driver();
    t.pod(1);
    t.run(40_000, () => fail);
    t.run(120_000, () => [checkResult({ id: 'dns-db', status: 'unknown', code: 'CHECK_TIMEOUT' })]);
    expect(t.events.map((e) => e.status)).toEqual(['firing']);
  });

  it('resolves at once when the check is removed from the config', () => {
    const t = new Driver();
    t.pod(1);
    t.run(40_000, () => fail);
    t.run(10_000, () => [checkResult({ id: 'tcp-db', kind: 'tcp' })]);
    expect(t.events.map((e) => e.status)).toEqual(['firing', 'resolved']);
  });
});

describe('flap detection', () => {
  it('raises one flapping event instead of a fire/resolve pair per swing, and resolves it once calm', () => {
    const t = new Driver({ checks: { forMs: 0, resolveForMs: 0 }, flap: { maxTransitions: 4, windowMs: 120_000, calmMs: 120_000 } });
    t.pod(1);
    let n = 0;
    t.run(30 * 60_000, () => (n++ % 2 === 0 ? fail : ok));
    const flapping = t.of('check-flapping');
    expect(flapping.map((e) => e.status)).toEqual(['firing']);
    const after = t.events.filter((e) => e.type === 'io.podpulse.check-failing' && e.time > flapping[0]!.time);
    expect(after).toEqual([]);
    // Before detection: at most the swings that the window allowed (4 transitions → 2 fire/resolve pairs + one fire).
    expect(t.of('check-failing').length).toBeLessThanOrEqual(5);
    t.run(130_000, () => fail);
    expect(t.of('check-flapping', 'resolved')).toHaveLength(1);
  });

  it('without flap detection the same swings would have produced an event each (control)', () => {
    const t = new Driver({ checks: { forMs: 0, resolveForMs: 0 }, flap: { maxTransitions: 10_000 } });
    t.pod(1);
    let n = 0;
    t.run(30 * 60_000, () => (n++ % 2 === 0 ? fail : ok));
    expect(t.of('check-failing').length).toBeGreaterThan(100);
  });
});

describe('late and replayed heartbeats', () => {
  it('fill history with historyOnly transitions but never raise or resolve events', () => {
    const t = new Driver();
    const a = t.pod(1);
    t.run(60_000, () => ok);
    // A spool replay: heartbeats sent 20 to 10 minutes ago, all failing.
    const replay = Array.from({ length: 60 }, (_, i) => t.build(a, i < 30 ? fail : ok, {}, t.now - 20 * 60_000 + i * 10_000));
    t.collect(t.d.observe(replay, t.now));
    const history = t.transitions.filter((x) => x.historyOnly);
    expect(history.map((x) => [x.from, x.to])).toEqual([['unknown', 'failing'], ['failing', 'healthy']]);
    expect(history[0]!.at).toBe(t.now - 20 * 60_000);
    t.run(600_000, () => ok);
    expect(t.events).toEqual([]);
    expect(t.d.instance(a)!.status).toBe('healthy');
  });

  it('treats a heartbeat older than one already seen as a replay, even if it is recent', () => {
    const t = new Driver({ checks: { forMs: 0 } });
    const a = t.pod(1);
    t.beat(a, ok);
    const older = t.build(a, fail, { seq: 0 }, t.now - 5_000);
    t.collect(t.d.observe([older], t.now));
    expect(t.transitions.at(-1)).toMatchObject({ to: 'failing', historyOnly: true });
    expect(t.d.instance(a)!.status).toBe('healthy');
    expect(t.events).toEqual([]);
  });

  it('does not track instances known only from replays: 1,000 old heartbeats of unknown pods fire nothing, ever', () => {
    const t = new Driver({ checks: { forMs: 0 } });
    const replay = Array.from({ length: 1000 }, (_, i) => {
      const p = t.pod(100 + (i % 50));
      return t.build(p, i % 3 === 0 ? fail : ok, {}, t.now - 3_600_000 + i * 1000);
    });
    t.collect(t.d.observe(replay, t.now));
    t.run(3 * 3_600_000, () => null);
    expect(t.transitions.every((x) => x.historyOnly)).toBe(true);
    expect(t.transitions.length).toBeGreaterThan(0);
    expect(t.events).toEqual([]);
    expect(t.d.size).toBe(0);
  });
});
