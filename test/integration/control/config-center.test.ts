import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonRun } from '../../helpers/daemon-harness.ts';
import { controlCollector, eventually, operatorApi, OPS, pod, startPodDaemon, type Json } from './control-fixture.ts';

const web1 = pod('web');
const web2 = pod('web');
const api1 = pod('api');
const pods = [web1, web2, api1];
let env: Awaited<ReturnType<typeof controlCollector>>;
let call: ReturnType<typeof operatorApi>;
const daemons: DaemonRun[] = [];

const tcp = (id: string, port: number) => ({ id, kind: 'tcp', spec: { host: '127.0.0.1', port } });
const port = () => Number(new URL(env.collector.url).port);

async function checksOf(uid: string): Promise<string[]> {
  return (await env.collector.store.listChecks(uid)).map((c) => c.checkId);
}

async function effective(uid: string): Promise<Json> {
  const r = await call('GET', `/api/v1/config/effective/${uid}`, undefined, OPS.viewer);
  expect(r.status).toBe(200);
  return r.body;
}

async function reported(uid: string): Promise<string | undefined> {
  return (await env.collector.store.getInstance(uid))?.agent.configRevision;
}

beforeAll(async () => {
  env = await controlCollector(pods);
  call = operatorApi(env.collector.url);
  const g = await call('PUT', '/api/v1/config/scopes/global', { document: { heartbeat: { interval: '1s' }, defaults: { interval: '2s', timeout: '1s' }, checks: [tcp('collector', port())] }, message: 'base' });
  expect(g.status).toBe(200);
  for (const p of pods) daemons.push(startPodDaemon(env.collector.url, p, env.dir));
  // Every pod runs the global config: it learnt the revision from a heartbeat answer (the poll interval is 30 s).
  for (const p of pods) {
    await eventually(async () => (await checksOf(p.podUid)).includes('collector') && (await reported(p.podUid)) === (await effective(p.podUid)).revision, 60_000, `${p.app} on the global config`);
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.kill()));
  await env?.collector.close();
});

describe('config center with real daemons', () => {
  it('sends an app-scope check only to that app, announces it in heartbeat answers, and a revert restores the old checks', async () => {
    const before = await effective(web1.podUid);
    const dry = await call('POST', '/api/v1/config/dry-run', { scope: 'app/shop/web', document: { checks: [tcp('web-only', port())] } }, OPS.viewer);
    expect(dry.status).toBe(200);
    const affected = dry.body.affected as { podUid: string; diff: { path: string; op: string }[] }[];
    expect(affected.map((a) => a.podUid).sort()).toEqual([web1.podUid, web2.podUid].sort());
    expect(affected[0]!.diff).toContainEqual(expect.objectContaining({ path: 'checks[web-only]', op: 'add' }));
    expect(dry.body).toMatchObject({ affectedCount: 2, unchanged: 0, violations: [] });

    const t0 = Date.now();
    const set = await call('PUT', '/api/v1/config/scopes/app/shop/web', { document: { checks: [tcp('web-only', port())] }, message: 'add web-only' });
    expect(set.status).toBe(200);
    const rev = set.body.revision as Json;
    expect(rev).toMatchObject({ scope: 'app/shop/web', author: 'platform-admin', action: 'set', message: 'add web-only' });
    const after = await effective(web1.podUid);
    expect(after.revision).not.toBe(before.revision);
    // Well before the 30 s poll: the next heartbeat answer carried the new revision and the daemon fetched it.
    for (const p of [web1, web2]) {
      await eventually(async () => (await checksOf(p.podUid)).includes('web-only') && (await reported(p.podUid)) === after.revision, 15_000, `${p.podUid} running web-only`);
    }
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(await checksOf(api1.podUid)).not.toContain('web-only');
    expect(await reported(api1.podUid)).toBe((await effective(api1.podUid)).revision);

    const history = await call('GET', '/api/v1/config/revisions?scope=app/shop/web', undefined, OPS.viewer);
    expect((history.body.items as Json[]).map((r) => r.id)).toEqual([rev.id]);

    const revert = await call('POST', `/api/v1/config/revisions/${String(rev.id)}/revert`, { message: 'undo' });
    expect(revert.status).toBe(200);
    expect(revert.body.revision).toMatchObject({ action: 'revert', of: rev.id, after: null });
    expect((await effective(web1.podUid)).revision).toBe(before.revision);
    for (const p of [web1, web2]) {
      await eventually(async () => !(await checksOf(p.podUid)).includes('web-only') && (await reported(p.podUid)) === before.revision, 15_000, `${p.podUid} back on the old checks`);
    }
    // Rolling back to the revision that added it brings it back: any earlier revision can be restored.
    const again = await call('POST', `/api/v1/config/revisions/${String(rev.id)}/rollback`);
    expect(again.status).toBe(200);
    expect((await effective(web2.podUid)).revision).toBe(after.revision);
  }, 60_000);

  it('answers 304 to an unchanged ETag and a new body once the config changes', async () => {
    const get = (etag?: string) => fetch(`${env.collector.url}/v1/agent/config`, { headers: { authorization: `Bearer ${api1.token}`, ...(etag ? { 'if-none-match': etag } : {}) } });
    const first = await get();
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    const body = (await first.json()) as Json;
    expect(body.revision).toBe((await effective(api1.podUid)).revision);
    expect((await get(etag)).status).toBe(304);
    await call('PUT', '/api/v1/config/scopes/app/shop/api', { document: { heartbeat: { interval: '2s' } } });
    const changed = await get(etag);
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(((await changed.json()) as { heartbeat: { interval: string } }).heartbeat.interval).toBe('2s');
    expect((await fetch(`${env.collector.url}/v1/agent/config`)).status).toBe(401);
  });

  it('refuses invalid documents with 400 naming the path, and changes nothing', async () => {
    const before = await call('GET', '/api/v1/config/revisions', undefined, OPS.viewer);
    const cases: [unknown, RegExp][] = [
      [{ checks: [{ id: 'x', kind: 'smtp', spec: {} }] }, /^document\.checks\[(x|0)\]\.kind$/],
      [{ checks: [{ id: 'h', kind: 'http', spec: { url: 'http://a/', bodyRegex: '([' } }] }, /^document\.checks\[h\]\.spec\.bodyRegex$/],
      [{ checks: [{ ...tcp('slow', port()), timeout: '5s' }] }, /^document\.checks\[slow\]\.timeout$/],
      [{ release: { version: '7.7.7' } }, /^document\.release\.version$/],
    ];
    for (const [document, path] of cases) {
      const r = await call('PUT', '/api/v1/config/scopes/app/shop/web', { document });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      const err = r.body.error as { code: string; violations: { path: string }[] };
      expect(err.violations.map((v) => v.path).join(',')).toMatch(path);
    }
    expect((await call('PUT', '/api/v1/config/scopes/app/shop', { document: {} })).status).toBe(400);
    expect((await call('PUT', '/api/v1/config/scopes/global', { document: {} }, OPS.viewer)).status).toBe(403);
    const stale = await call('PUT', '/api/v1/config/scopes/global', { document: {}, expectedVersion: 99 });
    expect(stale.status).toBe(409);
    const after = await call('GET', '/api/v1/config/revisions', undefined, OPS.viewer);
    expect(after.body.items).toEqual(before.body.items);
    // Refused and accepted writes alike are in the audit log, with who made them.
    const audit = (await call('GET', '/api/v1/audit?limit=200')).body.items as { action: string; outcome: string; actor: { name: string }; details?: Json }[];
    expect(audit.filter((e) => e.action === 'config.set' && e.outcome === 'refused').length).toBeGreaterThanOrEqual(cases.length);
    expect(audit).toContainEqual(expect.objectContaining({ action: 'config.set', outcome: 'ok', actor: expect.objectContaining({ name: 'platform-admin' }) as unknown }));
    expect(audit).toContainEqual(expect.objectContaining({ action: 'config.revert', outcome: 'ok' }));
  });
});
