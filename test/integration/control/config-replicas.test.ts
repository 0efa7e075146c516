import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';
import { testPostgres } from '../../helpers/postgres.ts';
import { fakeBundle, RELEASE_KEYS } from '../../helpers/release-fixture.ts';
import { eventually, operatorApi, signed, upload, type Json } from './control-fixture.ts';

const pg = await testPostgres();
if (!pg.url) console.warn(`SKIPPING control-plane replica tests: ${pg.reason}`);
let a: Awaited<ReturnType<typeof collectorUnderTest>>;
let b: Awaited<ReturnType<typeof collectorUnderTest>>;

beforeAll(async () => {
  if (!pg.url) return;
  // Two replicas on one PostgreSQL schema and one release directory (shared storage in a cluster).
  const releases = mkdtempSync(join(tmpdir(), 'podpulse-releases-'));
  const over = {
    store: { kind: 'postgres' as const, url: pg.url, schema: pg.schema, maxConnections: 4 },
    releases: { dir: releases, publicKeys: [{ keyId: 'test', pem: RELEASE_KEYS.publicKeyPem }] },
    configCenter: { refreshInterval: '200ms' },
  };
  [a, b] = await Promise.all([collectorUnderTest(over), collectorUnderTest(over)]);
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await pg.stop();
});

const agentConfig = async (url: string): Promise<Json> => (await (await fetch(`${url}/v1/agent/config`)).json()) as Json;

(pg.url ? describe : describe.skip)('control plane on PostgreSQL with two replicas', () => {
  it('serves a document written on one replica from the other within the refresh interval', async () => {
    const r = await operatorApi(a.url)('PUT', '/api/v1/config/scopes/global', { document: { heartbeat: { interval: '3s' } } });
    expect(r.status).toBe(200);
    const onB = await operatorApi(b.url)('GET', '/api/v1/config/scopes/global');
    expect(onB.body).toMatchObject({ version: 1, document: { heartbeat: { interval: '3s' } } });
    const cfg = await eventually(async () => {
      const c = await agentConfig(b.url);
      return (c.heartbeat as { interval: string }).interval === '3s' ? c : undefined;
    }, 5000, 'replica b serving the new document');
    expect(cfg.revision).toBe((await agentConfig(a.url)).revision);
    const history = await operatorApi(b.url)('GET', '/api/v1/config/revisions');
    expect((history.body.items as Json[]).map((x) => x.scope)).toEqual(['global']);
  });

  it('lets exactly one of two writers racing from the same version win', async () => {
    const tenant = `t${randomUUID().slice(0, 8)}`;
    const put = (url: string, interval: string) => operatorApi(url)('PUT', `/api/v1/config/scopes/tenant/${tenant}`, { document: { heartbeat: { interval } }, expectedVersion: 0 });
    const results = await Promise.all([put(a.url, '4s'), put(b.url, '5s')]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const revisions = await operatorApi(a.url)('GET', `/api/v1/config/revisions?scope=tenant/${tenant}`);
    expect(revisions.body.items).toHaveLength(1);
  });

  it('serves a release uploaded through one replica from the other', async () => {
    const bundle = fakeBundle('5.0.0');
    expect((await upload(a.url, bundle, signed('5.0.0', bundle))).status).toBe(201);
    const res = await fetch(`${b.url}/v1/agent/releases/5.0.0`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bundle)).toBe(true);
  });
});
