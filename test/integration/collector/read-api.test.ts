import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../../collector/store/store.ts';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';
import { beat, failCheck, okCheck, warnCheck, type BeatOptions } from '../../helpers/heartbeats.ts';
import { testPostgres } from '../../helpers/postgres.ts';
import { apiGet, postBeats } from './read-api-client.ts';

type Collector = Awaited<ReturnType<typeof collectorUnderTest>>;
const MIN = 60_000;

const pg = await testPostgres();
if (!pg.url) console.warn(`SKIPPING the PostgreSQL run of the read API tests: ${pg.reason}`);
afterAll(() => pg.stop());

const stores = [
  { name: 'sqlite', store: {} },
  ...(pg.url ? [{ name: 'postgres', store: { kind: 'postgres' as const, url: pg.url, schema: pg.schema } }] : []),
];

function tenantBeat(tenant: string, o: BeatOptions) {
  const hb = beat(o);
  hb.instance.tenant = tenant;
  return hb;
}

describe.each(stores)('operator read API on $name', ({ store }) => {
  let c: Collector;
  const ns = `read-${randomUUID().slice(0, 8)}`;
  const uids: string[] = [];
  beforeAll(async () => {
    c = await collectorUnderTest({ store });
    // Seven instances: apps odd/even, nodes n-0..n-2, tenants acme/globex; #3 failing, #5 degraded.
    for (let i = 0; i < 7; i++) {
      const checks = [i === 3 ? failCheck('dns-db') : okCheck('dns-db'), i === 5 ? warnCheck('http-api') : okCheck('http-api')];
      const hb = tenantBeat(i < 2 ? 'globex' : 'acme', { namespace: ns, app: i % 2 ? 'odd' : 'even', node: `n-${i % 3}`, checks });
      uids.push(hb.instance.podUid);
      expect(await postBeats(c.url, hb)).toBe(202);
    }
  });
  afterAll(() => c?.close());

  it('lists instances in cursor pages that visit each once', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await apiGet(c.url, `/api/v1/instances?namespace=${ns}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.json.items.length).toBeLessThanOrEqual(3);
      seen.push(...(r.json.items as { podUid: string }[]).map((i) => i.podUid));
      cursor = r.json.nextCursor as string | undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...uids].sort());
  });

  it('filters instances by namespace, app, tenant, node and status', async () => {
    const ids = async (q: string) => ((await apiGet(c.url, `/api/v1/instances?namespace=${ns}&${q}`)).json.items as { podUid: string }[]).map((i) => i.podUid).sort();
    expect(await ids('app=odd')).toEqual([uids[1], uids[3], uids[5]].sort());
    expect(await ids('tenant=globex')).toEqual([uids[0], uids[1]].sort());
    expect(await ids('node=n-0')).toEqual([uids[0], uids[3], uids[6]].sort());
    expect(await ids('status=failing')).toEqual([uids[3]]);
    expect(await ids('status=degraded&app=odd')).toEqual([uids[5]]);
    expect(await ids('app=none')).toEqual([]);
  });

  it('answers 400 naming each bad query parameter, and changes nothing', async () => {
    const cases: [string, string[]][] = [
      ['limit=0', ['limit']],
      ['limit=abc', ['limit']],
      ['limit=1001', ['limit']],
      ['status=sleeping', ['status']],
      ['colour=blue', ['colour']],
      ['app=a&app=b', ['app']],
      ['cursor=garbage!', ['cursor']],
      ['status=nope&limit=-1', ['status', 'limit']],
    ];
    for (const [q, names] of cases) {
      const r = await apiGet(c.url, `/api/v1/instances?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.json.error.code).toBe('PODPULSE_ERR_PROTOCOL');
      expect((r.json.error.violations as { path: string }[]).map((v) => v.path).sort(), q).toEqual([...names].sort());
      for (const n of names) expect(r.json.error.message).toContain(n);
    }
  });

  it('shows one instance with identity, current checks, agent state and diagnosis', async () => {
    const r = await apiGet(c.url, `/api/v1/instances/${uids[3]}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ podUid: uids[3], namespace: ns, app: 'odd', node: 'n-0', tenant: 'acme', status: 'failing', agent: { daemonVersion: '1.0.0', breaker: 'closed' } });
    expect(r.json.checks).toEqual([
      expect.objectContaining({ id: 'dns-db', kind: 'dns', status: 'fail', code: 'DNS_NXDOMAIN', message: 'no such name' }),
      expect.objectContaining({ id: 'http-api', status: 'ok', code: 'OK' }),
    ]);
    expect(r.json.diagnosis).toMatchObject({ status: 'failing', silentSince: null });
    expect((await apiGet(c.url, `/api/v1/instances/${randomUUID()}`)).status).toBe(404);
    const bad = await apiGet(c.url, '/api/v1/instances/not-a-uid');
    expect(bad.status).toBe(400);
    expect(bad.json.error.violations[0].path).toBe('uid');
  });

  it('gives the timeline of an instance and its checks, newest first, with since and limit', async () => {
    const uid = randomUUID();
    const t0 = Date.now() - 5 * MIN;
    const states = [okCheck('dns-db'), failCheck('dns-db'), okCheck('dns-db')];
    for (const [i, check] of states.entries()) expect(await postBeats(c.url, beat({ podUid: uid, namespace: ns, seq: i, sentAt: t0 + i * 10_000, checks: [check] }))).toBe(202);
    const r = await apiGet(c.url, `/api/v1/instances/${uid}/timeline`);
    expect(r.status).toBe(200);
    const inst = (r.json.items as { check: string | null; to: string }[]).filter((t) => t.check === null).map((t) => t.to);
    expect(inst).toEqual(['healthy', 'failing', 'healthy']);
    const dns = (r.json.items as { check: string | null; to: string; code: string }[]).filter((t) => t.check === 'dns-db').map((t) => [t.to, t.code]);
    expect(dns).toEqual([['ok', 'OK'], ['fail', 'DNS_NXDOMAIN'], ['ok', 'OK']]);
    const since = new Date(t0 + 5_000).toISOString();
    const recent = await apiGet(c.url, `/api/v1/instances/${uid}/timeline?since=${since}&limit=2`);
    expect(recent.json.items).toHaveLength(2);
    expect(recent.json.items[0].at).toBe(new Date(t0 + 20_000).toISOString());
    expect((await apiGet(c.url, `/api/v1/instances/${uid}/timeline?since=yesterday`)).json.error.violations[0].path).toBe('since');
    expect((await apiGet(c.url, `/api/v1/instances/${randomUUID()}/timeline`)).status).toBe(404);
  });

  it('counts instances by status per app', async () => {
    const r = await apiGet(c.url, `/api/v1/apps?namespace=${ns}`);
    expect(r.status).toBe(200);
    const byApp = Object.fromEntries((r.json.items as { app: string; instances: number; byStatus: Record<string, number> }[]).map((a) => [a.app, a]));
    expect(byApp.odd).toMatchObject({ instances: 3, byStatus: { healthy: 1, failing: 1, degraded: 1, silent: 0 } });
    expect(byApp.even).toMatchObject({ instances: 4, byStatus: { healthy: 4, failing: 0 } });
    expect((await apiGet(c.url, '/api/v1/apps?namespace=a&namespace=b')).status).toBe(400);
  });

  it('computes SLA from minute rollups, with silent time derived from the gaps while the instance existed', async () => {
    const app = `sla-${randomUUID().slice(0, 8)}`;
    const uid = randomUUID();
    const now = Date.now();
    const at = (agoMin: number) => Math.floor((now - agoMin * MIN) / MIN) * MIN;
    // First heard 20 minutes ago (1 min healthy), failing for one minute 10 minutes ago, degraded one minute 5 ago;
    // nothing else: the rest of its ~21 minutes of life was silent.
    const beats = [
      { ago: 20, checks: [okCheck('a')] },
      { ago: 10, checks: [failCheck('a')] },
      { ago: 5, checks: [warnCheck('a')] },
    ];
    for (const [i, b] of beats.entries()) await c.store.ingest([beat({ podUid: uid, app, namespace: ns, seq: i, sentAt: at(b.ago), intervalMs: MIN, checks: b.checks })], at(b.ago));
    const r = await apiGet(c.url, `/api/v1/sla?app=${app}&window=1h`);
    expect(r.status).toBe(200);
    const lived = (Date.now() - (at(20) - MIN)) / MIN;
    expect(r.json).toMatchObject({ app, window: '1h', instances: 1 });
    expect(r.json.okMinutes).toBe(1);
    expect(r.json.lostMinutes).toMatchObject({ failing: 1, degraded: 1, unknown: 0 });
    expect(r.json.lostMinutes.silent).toBeCloseTo(lived - 3, 0);
    expect(r.json.instanceMinutes).toBeCloseTo(lived, 0);
    expect(r.json.availabilityPercent).toBeCloseTo((100 * 1) / lived, 0);
    // The same figures by namespace include the other instances; a window of 1h excludes nothing here.
    expect((await apiGet(c.url, `/api/v1/sla?namespace=${ns}&window=24h`)).json.instances).toBeGreaterThanOrEqual(8);
    expect((await apiGet(c.url, `/api/v1/sla?app=nobody-${app}&window=7d`)).json).toMatchObject({ instances: 0, availabilityPercent: null });
    const bad = await apiGet(c.url, `/api/v1/sla?app=${app}&window=2h`);
    expect(bad.status).toBe(400);
    expect(bad.json.error.violations[0].path).toBe('window');
  });

  it('lists stored events newest first with status, app and type filters and cursor pages', async () => {
    const app = `ev-${randomUUID().slice(0, 8)}`;
    const t = Date.now() - 60_000;
    const ev = (i: number, over: Partial<StoredEvent> = {}): StoredEvent => ({
      id: randomUUID(), fingerprint: randomUUID().replace(/-/g, ''), type: 'io.podpulse.check-failing', status: 'firing', severity: 'warning',
      app, tenant: 'acme', subject: `s-${i}`, body: { data: { summary: `event ${i}` } }, createdAt: t + i, updatedAt: t + i, resolvedAt: null, ...over,
    });
    const events = [ev(0), ev(1, { status: 'resolved', resolvedAt: t + 1 }), ev(2, { type: 'io.podpulse.dependency-failing' }), ev(3), ev(4)];
    for (const e of events) await c.store.upsertEvent(e);
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const r = await apiGet(c.url, `/api/v1/events?app=${app}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      all.push(...(r.json.items as { id: string }[]).map((e) => e.id));
      cursor = r.json.nextCursor as string | undefined;
    } while (cursor);
    expect(all).toEqual(events.map((e) => e.id).reverse());
    const firing = await apiGet(c.url, `/api/v1/events?app=${app}&status=firing`);
    expect(firing.json.items).toHaveLength(4);
    expect(firing.json.items[0]).toMatchObject({ id: events[4]!.id, summary: 'event 4', status: 'firing', resolvedAt: null });
    const byType = await apiGet(c.url, `/api/v1/events?app=${app}&type=dependency-failing`);
    expect((byType.json.items as { id: string }[]).map((e) => e.id)).toEqual([events[2]!.id]);
    expect((await apiGet(c.url, `/api/v1/events?app=${app}&type=io.podpulse.dependency-failing`)).json.items).toHaveLength(1);
    for (const [q, name] of [['status=open', 'status'], ['type=Not_A_Type', 'type'], ['cursor=zzz', 'cursor'], ['limit=x', 'limit'], ['since=1', 'since']]) {
      const r = await apiGet(c.url, `/api/v1/events?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.json.error.violations[0].path, q).toBe(name);
    }
  });

  it('exports fleet metrics aggregated per app, check kind and code, never per pod', async () => {
    const res = await request(`${c.url}/metrics`);
    const text = await res.body.text();
    expect(text).toMatch(/podpulse_instances\{app="odd",status="failing"\} [1-9]/);
    expect(text).toMatch(/podpulse_checks_not_ok\{kind="dns",code="DNS_NXDOMAIN",status="fail"\} [1-9]/);
    expect(text).toMatch(/podpulse_store_query_duration_seconds_count\{store="\w+",op="list_instances"\} [1-9]/);
    expect(text).toContain('podpulse_diagnosis_instances');
    for (const uid of uids) expect(text).not.toContain(uid);
  });
});

describe('operator read API authentication', () => {
  let c: Collector;
  const viewer = 'viewer-token-0123456789abcdef';
  const agent = 'agent-token-0123456789abcdef';
  beforeAll(async () => {
    c = await collectorUnderTest();
    await c.close();
    const agents = join(c.dir, 'agents.yaml');
    const operators = join(c.dir, 'operators.yaml');
    writeFileSync(agents, `tokens:\n  - { name: shop-web, token: ${agent}, namespace: shop, app: web }\n`);
    writeFileSync(operators, `tokens:\n  - { name: dashboards, token: ${viewer}, role: viewer }\n`);
    c = await collectorUnderTest({ auth: { mode: 'static', tokensFile: agents }, operators: { tokensFile: operators } });
    expect(await postBeats(c.url, beat(), agent)).toBe(202);
  });
  afterAll(() => c?.close());

  it('answers 200 to a viewer token and 401 without one or with an unknown one', async () => {
    for (const path of ['/api/v1/instances', '/api/v1/apps', '/api/v1/sla?window=1h', '/api/v1/events']) {
      expect((await apiGet(c.url, path, viewer)).status, path).toBe(200);
      const none = await apiGet(c.url, path);
      expect(none.status, path).toBe(401);
      expect(none.json.error.code).toBe('PODPULSE_ERR_UNAUTHENTICATED');
      expect((await apiGet(c.url, path, 'wrong-token-0123456789abcdef')).status, path).toBe(401);
      // An agent's token is not an operator's.
      expect((await apiGet(c.url, path, agent)).status, path).toBe(401);
    }
    const list = await apiGet(c.url, '/api/v1/instances', viewer);
    expect(list.json.items).toHaveLength(1);
    expect((await apiGet(c.url, `/api/v1/instances/${list.json.items[0].podUid}/timeline`)).status).toBe(401);
  });
});
