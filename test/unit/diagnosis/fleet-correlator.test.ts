import { describe, expect, it, vi } from 'vitest';
import { FleetCorrelator } from '../../../collector/diagnosis/fleet-correlator.ts';
import type { Problem } from '../../../collector/diagnosis/problem.ts';
import { EventBook } from '../../../collector/events/event-lifecycle.ts';
import { checkResult } from '../../helpers/heartbeat-factory.ts';
import { Driver, uid } from './driver.ts';

const ok = [checkResult({ id: 'dns-db' })];
const nxdomain = (id = 'dns-db') => [checkResult({ id, status: 'fail', code: 'DNS_NXDOMAIN', message: 'mysql.prod.svc: NXDOMAIN', details: { target: 'mysql.prod.svc' } })];

describe('blast radius', () => {
  it('groups 50 instances on one node failing the same DNS target into ONE event naming the node, target and count', () => {
    const t = new Driver();
    // Heartbeats staggered over the 10 s interval, as in a real fleet.
    for (let i = 0; i < 50; i++) t.pod(i, { instance: { node: 'n-12', app: 'shop' } }, (i % 10) * 1000);
    t.run(60_000, () => ok);
    t.run(300_000, () => nxdomain());
    expect(t.of('check-failing')).toEqual([]);
    const grouped = t.of('dependency-failing');
    // All 50 were pending members before the first one's `for` elapsed: one announcement, complete from the start.
    expect(grouped.map((e) => e.status)).toEqual(['firing']);
    expect(grouped[0]!.data.summary).toBe('dns mysql.prod.svc DNS_NXDOMAIN on 50 instances of app shop, all on node n-12');
    expect(grouped[0]!.data.instances).toHaveLength(50);
    expect(grouped[0]!.data.labels).toMatchObject({ node: 'n-12', target: 'mysql.prod.svc', code: 'DNS_NXDOMAIN', instances: '50' });
    expect(grouped[0]!.app).toBe('shop');
    t.run(120_000, () => ok);
    // While members recover one by one the count may be updated (rate-limited); then the one event resolves.
    const all = t.of('dependency-failing');
    expect(all.at(-1)!.status).toBe('resolved');
    expect(all.filter((e) => e.status === 'firing').length).toBeLessThanOrEqual(2);
    expect(new Set(all.map((e) => e.fingerprint)).size).toBe(1);
    expect(t.of('check-failing')).toEqual([]);
  });

  it('names the target and "4 apps" for 50 instances of 4 apps on 10 nodes, whatever each app calls its check', () => {
    const t = new Driver();
    for (let i = 0; i < 50; i++) t.pod(i, { instance: { node: `n-${i % 10}`, app: `app-${i % 4}`, tenant: 'acme' } }, (i % 10) * 1000);
    t.run(20_000, () => ok);
    t.run(120_000, (uid) => nxdomain(`dns-${uid.endsWith('1') ? 'mysql' : 'db'}`));
    expect(t.of('check-failing')).toEqual([]);
    const grouped = t.of('dependency-failing', 'firing');
    expect(grouped).toHaveLength(1);
    expect(grouped[0]!.data.summary).toBe('dns mysql.prod.svc DNS_NXDOMAIN on 50 instances of 4 apps across 10 nodes, all of tenant acme');
    expect(grouped[0]!.app).toBeUndefined();
    expect(grouped[0]!.tenant).toBe('acme');
  });

  it('names the zone when the instances share one zone but not one node', () => {
    const t = new Driver({ nodeZones: { 'n-1': 'eu-1a', 'n-2': 'eu-1a' } });
    for (let i = 0; i < 6; i++) t.pod(i, { instance: { node: `n-${1 + (i % 2)}` } });
    t.run(60_000, () => nxdomain());
    expect(t.of('dependency-failing')[0]!.data.summary).toBe('dns mysql.prod.svc DNS_NXDOMAIN on 6 instances of app app, all in zone eu-1a (2 nodes)');
  });

  it('announces instances on their own while fewer than the group minimum fail the target', () => {
    const t = new Driver();
    for (let i = 0; i < 10; i++) t.pod(i, { instance: { node: 'n-1' } });
    t.run(60_000, (uid) => (uid.endsWith('1') || uid.endsWith('2') ? nxdomain() : ok));
    expect(t.of('dependency-failing')).toEqual([]);
    expect(t.of('check-failing', 'firing')).toHaveLength(2);
  });

  it('keeps an instance announced before the group formed, and counts it in the group', () => {
    const t = new Driver();
    for (let i = 0; i < 5; i++) t.pod(i);
    t.run(60_000, (uid) => (uid.endsWith('0') ? nxdomain() : ok));
    expect(t.of('check-failing', 'firing')).toHaveLength(1);
    t.run(60_000, () => nxdomain());
    expect(t.of('check-failing')).toHaveLength(1);
    expect(t.of('dependency-failing', 'firing')[0]!.data.summary).toContain('on 5 instances');
  });
});

describe('other fleet groups', () => {
  it('groups instances flapping on the same dependency into one dependency-flapping event', () => {
    const t = new Driver({ checks: { forMs: 0, resolveForMs: 0 }, flap: { maxTransitions: 4, windowMs: 120_000 } });
    for (let i = 0; i < 12; i++) t.pod(i, { instance: { node: `n-${i % 3}`, app: 'shop' } }, (i % 10) * 1000);
    const swing = new Map<string, number>();
    t.run(10 * 60_000, (p) => {
      const n = swing.get(p) ?? 0;
      swing.set(p, n + 1);
      return n % 2 === 0 ? nxdomain() : ok;
    });
    expect(t.of('check-flapping')).toEqual([]);
    const grouped = t.of('dependency-flapping', 'firing');
    expect(grouped).toHaveLength(1);
    expect(grouped[0]!.data.summary).toBe('dns mysql.prod.svc flapping (DNS_NXDOMAIN) on 12 instances of app shop across 3 nodes');
  });

  it('groups probes broken by the same failed worker update into one event naming the release', () => {
    const t = new Driver();
    for (let i = 0; i < 20; i++) t.pod(i, { instance: { app: `app-${i % 5}` }, agent: { update: { desired: '0.2.0', current: '0.1.0', status: 'failed' } } }, (i % 10) * 1000);
    t.run(120_000, () => ok);
    expect(t.of('probe-broken')).toEqual([]);
    const grouped = t.of('probe-broken-fleet', 'firing');
    expect(grouped).toHaveLength(1);
    expect(grouped[0]!.data.summary).toBe('probe update to 0.2.0 failed on 20 instances of 5 apps');
  });
});

describe('fleet-wide silence', () => {
  it('turns 50 instances going silent at once into one ingest/network event and no per-instance silent events', () => {
    const t = new Driver();
    for (let i = 0; i < 100; i++) t.pod(i, {}, (i % 10) * 1000);
    t.run(30_000, () => ok);
    const quiet = (uid: string) => Number.parseInt(uid.slice(-4), 16) < 50;
    t.run(300_000, (uid) => (quiet(uid) ? null : ok));
    expect(t.transitions.filter((x) => x.to === 'silent')).toHaveLength(50);
    expect(t.of('instance-silent')).toEqual([]);
    const suspect = t.of('ingest-suspect');
    expect(suspect[0]!.status).toBe('firing');
    expect(suspect[0]!.severity).toBe('critical');
    expect(suspect[0]!.data.summary).toMatch(/^\d+ of 100 instances \(\d+%\) went silent within 1m: suspect the collector's ingest path or the network/);
    t.run(60_000, () => ok);
    expect(t.of('ingest-suspect').at(-1)!.status).toBe('resolved');
    expect(t.of('instance-silent')).toEqual([]);
  });

  it('releases the held instances that are still silent when the fleet-wide silence clears', () => {
    const t = new Driver();
    for (let i = 0; i < 100; i++) t.pod(i);
    t.run(30_000, () => ok);
    const n = (uid: string) => Number.parseInt(uid.slice(-4), 16);
    t.run(120_000, (uid) => (n(uid) < 50 ? null : ok));
    t.run(120_000, (uid) => (n(uid) < 3 ? null : ok));
    expect(t.of('ingest-suspect', 'resolved')).toHaveLength(1);
    // Released with a fresh `for` window: only those that stayed silent after the outage are announced.
    expect(t.of('instance-silent', 'firing').map((e) => e.data.instances![0]).sort()).toEqual([uid(0), uid(1), uid(2)]);
  });

  it('announces a few silent instances on their own (below the share)', () => {
    const t = new Driver();
    for (let i = 0; i < 100; i++) t.pod(i);
    t.run(30_000, () => ok);
    t.run(120_000, (uid) => (Number.parseInt(uid.slice(-4), 16) < 5 ? null : ok));
    expect(t.of('ingest-suspect')).toEqual([]);
    expect(t.of('instance-silent', 'firing')).toHaveLength(5);
  });
});

describe('fleet group content under churn', () => {
  const book = () => new EventBook({ source: '/test', updateMinIntervalMs: 60_000 });
  const problem = (i: number): Problem => ({
    key: `check:pod-${i}:dns-db`, kind: 'check', podUid: `pod-${i}`, severity: 'warning', since: 0, summary: 'dns fails',
    instance: { podUid: `pod-${i}`, namespace: 'shop', pod: `web-${i}`, node: `n-${i % 7}`, app: 'web', tenant: 'acme' },
    code: 'DNS_NXDOMAIN', checkId: 'dns-db', checkKind: 'dns', target: { target: 'mysql.prod.svc', key: 'dns|mysql.prod.svc|DNS_NXDOMAIN' },
    evidence: [{ kind: 'check', subject: 'dns-db', field: 'code', value: 'DNS_NXDOMAIN' }],
  });

  it('rebuilds a formed group at most once per second while 2,000 instances join it in batches of 10, then shows them all', () => {
    const events = book();
    const set = vi.spyOn(events, 'set');
    const c = new FleetCorrelator({ minInstances: 3, zoneOf: () => undefined, book: events });
    const T = 1_000_000;
    // 200 batches within 0.2 s, as group commit hands them to the diagnosis during an outage's first round.
    for (let b = 0; b < 200; b++) {
      for (let i = b * 10; i < b * 10 + 10; i++) c.apply({ op: 'start', problem: problem(i), at: T + b });
      c.flush(T + b);
    }
    const groupBuilds = () => set.mock.calls.filter(([spec]) => spec.type === 'dependency-failing');
    // Built when it formed (pending), and not again within the second: not once per batch.
    expect(groupBuilds()).toHaveLength(1);
    expect(groupBuilds()[0]![0].summary).toContain('on 10 instances');
    // The next flush after the refresh interval (a tick) brings the content up to date.
    c.flush(T + 1_500);
    expect(groupBuilds()).toHaveLength(2);
    expect(events.open(T + 1_500).find((e) => e.type === 'io.podpulse.dependency-failing')!.data.summary)
      .toBe('dns mysql.prod.svc DNS_NXDOMAIN on 2000 instances of app web across 7 nodes');
  });

  it('announces a group that starts firing at once, with every member counted, whatever the refresh interval', () => {
    const events = book();
    const c = new FleetCorrelator({ minInstances: 3, zoneOf: () => undefined, book: events });
    const T = 1_000_000;
    for (let i = 0; i < 50; i++) c.apply({ op: 'start', problem: problem(i), at: T });
    c.flush(T);
    c.apply({ op: 'start', problem: problem(50), at: T + 10 });
    c.flush(T + 10);
    c.apply({ op: 'fire', problem: problem(0), at: T + 20 });
    c.flush(T + 20);
    const fired = events.take().filter((e) => e.type === 'io.podpulse.dependency-failing');
    expect(fired.map((e) => e.status)).toEqual(['firing']);
    expect(fired[0]!.data.summary).toContain('on 51 instances');
    // The last member leaving resolves the group at once too.
    for (let i = 0; i <= 50; i++) c.apply({ op: 'resolve', problem: problem(i), at: T + 30 });
    c.flush(T + 30);
    expect(events.take().map((e) => `${e.type} ${e.status}`)).toEqual(['io.podpulse.dependency-failing resolved']);
  });
});
