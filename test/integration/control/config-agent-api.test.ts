import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';
import { heartbeat } from '../../helpers/heartbeat-factory.ts';
import { fakeBundle, RELEASE_KEYS } from '../../helpers/release-fixture.ts';
import { operatorApi, signed, upload, type Json } from './control-fixture.ts';

// --insecure-no-auth: requests carry no pod identity, operators are anonymous admins.
let c: Awaited<ReturnType<typeof collectorUnderTest>>;
let call: ReturnType<typeof operatorApi>;

beforeAll(async () => {
  c = await collectorUnderTest({ releases: { publicKeys: [{ keyId: 'test', pem: RELEASE_KEYS.publicKeyPem }] }, rollouts: { tickInterval: '100ms' } });
  call = operatorApi(c.url);
});
afterAll(() => c?.close());

const beat = async (hb: unknown): Promise<Json> => {
  const res = await fetch(`${c.url}/v1/heartbeats`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hb) });
  expect(res.status).toBe(202);
  return (await res.json()) as Json;
};

describe('agent config without pod-bound tokens', () => {
  it('announces in heartbeat answers the revision that GET /v1/agent/config serves the same identity', async () => {
    expect((await call('PUT', '/api/v1/config/scopes/global', { document: { heartbeat: { interval: '5s' } } })).status).toBe(200);
    expect((await call('PUT', '/api/v1/config/scopes/app/shop/web', { document: { heartbeat: { interval: '2s' } } })).status).toBe(200);
    const hb = heartbeat({ instance: { namespace: 'shop', app: 'web' } });
    const ack = await beat(hb);
    const served = (await (await fetch(`${c.url}/v1/agent/config`)).json()) as { revision: string; heartbeat: { interval: string } };
    // An anonymous request cannot say which pod it is: it gets the global config, and the hint agrees with it.
    expect(served.heartbeat.interval).toBe('5s');
    expect(ack.configRevision).toBe(served.revision);
    // The instance's own effective config (what a pod-bound token would get) is the app's.
    const eff = (await call('GET', `/api/v1/config/effective/${hb.instance.podUid}`)).body;
    expect((eff.config as { heartbeat: { interval: string } }).heartbeat.interval).toBe('2s');
    expect(eff.scopes).toEqual(['global', 'app/shop/web']);
    // An instance scope written with the uid in upper case lands on the instance all the same.
    const put = await call('PUT', `/api/v1/config/scopes/instance/${hb.instance.podUid.toUpperCase()}`, { document: { heartbeat: { interval: '3s' } } });
    expect(put.body.revision).toMatchObject({ scope: `instance/${hb.instance.podUid}` });
    const mine = (await call('GET', `/api/v1/config/effective/${hb.instance.podUid}`)).body;
    expect(mine.scopes).toEqual(['global', 'app/shop/web', `instance/${hb.instance.podUid}`]);
    expect((await call('GET', `/api/v1/config/scopes/instance/${hb.instance.podUid.toUpperCase()}`)).status).toBe(200);
  });
});

describe('rollout actions', () => {
  it('pauses, resumes and aborts by hand, refusing actions that do not fit the status', async () => {
    const bundle = fakeBundle('6.0.0');
    expect((await upload(c.url, bundle, signed('6.0.0', bundle))).status).toBe(201);
    await beat(heartbeat({ instance: { namespace: 'shop', app: 'cart' } }));
    const start = await call('POST', '/api/v1/rollouts', { target: '6.0.0', selector: { app: 'cart' }, analysis: { window: '1m' } });
    expect(start.status).toBe(201);
    const id = start.body.id as string;
    expect((await call('POST', '/api/v1/rollouts', { target: '6.0.0', selector: { namespace: 'shop' } })).status).toBe(409);
    expect((await call('POST', `/api/v1/rollouts/${id}/resume`)).status).toBe(409);
    expect((await call('POST', `/api/v1/rollouts/${id}/pause`)).body).toMatchObject({ status: 'paused' });
    expect((await call('POST', `/api/v1/rollouts/${id}/pause`)).status).toBe(409);
    expect((await call('POST', `/api/v1/rollouts/${id}/resume`)).body).toMatchObject({ status: 'running' });
    expect((await call('POST', `/api/v1/rollouts/${id}/abort`)).body).toMatchObject({ status: 'aborted', reason: 'aborted by anonymous' });
    expect((await call('POST', `/api/v1/rollouts/${id}/abort`)).status).toBe(409);
    expect((await call('POST', '/api/v1/rollouts/ro-missing/pause')).status).toBe(404);
    const bad = await call('POST', '/api/v1/rollouts', { target: '6.0.0', steps: [{ percent: 50 }, { percent: 10 }] });
    expect(bad.status).toBe(400);
    expect((bad.body.error as { violations: { path: string }[] }).violations[0]!.path).toBe('steps[1].percent');
  });
});
