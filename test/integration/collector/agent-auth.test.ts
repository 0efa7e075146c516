import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beat, type ApiBody } from '../../helpers/heartbeats.ts';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';
import { fakeJwt, startTokenReviewServer, type TokenReviewServer } from '../../helpers/token-review-server.ts';

type Collector = Awaited<ReturnType<typeof collectorUnderTest>>;

async function post(url: string, body: unknown, token?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await request(`${url}/v1/heartbeats`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.statusCode, headers: res.headers, json: (await res.body.json()) as ApiBody };
}

const podA = { uid: randomUUID(), name: 'web-a' };
const podB = { uid: randomUUID(), name: 'web-b' };
const tokenA = fakeJwt('pod-a', Math.floor(Date.now() / 1000) + 3600);
const tokenB = fakeJwt('pod-b', Math.floor(Date.now() / 1000) + 3600);

describe('agent authentication with TokenReview', () => {
  let kube: TokenReviewServer;
  let c: Collector;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podpulse-tr-'));
    kube = await startTokenReviewServer(dir, {
      [tokenA]: { namespace: 'shop', serviceAccount: 'web', pod: podA.name, podUid: podA.uid },
      [tokenB]: { namespace: 'shop', serviceAccount: 'web', pod: podB.name, podUid: podB.uid },
      'wrong-audience-token': { namespace: 'shop', serviceAccount: 'web', pod: podA.name, podUid: podA.uid, audiences: ['vault'] },
    });
    c = await collectorUnderTest({ auth: { mode: 'tokenreview', kubeconfig: kube.kubeconfig } });
  });
  afterAll(async () => {
    await c?.close();
    await kube?.close();
  });

  it('accepts a heartbeat for the pod the token is bound to', async () => {
    const r = await post(c.url, beat({ podUid: podA.uid, pod: podA.name, namespace: 'shop' }), tokenA);
    expect(r.status).toBe(202);
    expect(kube.unauthorized).toBe(0);
  });

  it('answers 403 when a token bound to pod A posts as pod B', async () => {
    const r = await post(c.url, beat({ podUid: podB.uid, pod: podB.name, namespace: 'shop' }), tokenA);
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('PODPULSE_ERR_FORBIDDEN');
    expect(r.json.error.violations[0]!.path).toBe('instance');
    expect(await c.store.getInstance(podB.uid)).toBeUndefined();
  });

  it('answers 403 when one heartbeat of a batch is for another namespace', async () => {
    const batch = { apiVersion: 'podpulse.io/v1', heartbeats: [beat({ podUid: podA.uid, pod: podA.name, namespace: 'shop', seq: 5 }), beat({ podUid: podA.uid, pod: podA.name, namespace: 'other', seq: 6 })] };
    const r = await post(c.url, batch, tokenA);
    expect(r.status).toBe(403);
    expect(r.json.error.violations[0]).toEqual({ path: 'heartbeats[1].instance', message: expect.stringContaining('namespace') });
  });

  it('answers 401 without a token, with an unknown token, and with a token for another audience', async () => {
    const hb = beat({ podUid: podA.uid, pod: podA.name, namespace: 'shop' });
    const none = await post(c.url, hb);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/Bearer/);
    expect(none.json.error.code).toBe('PODPULSE_ERR_UNAUTHENTICATED');
    expect((await post(c.url, hb, 'not-a-known-token')).status).toBe(401);
    expect((await post(c.url, hb, 'wrong-audience-token')).status).toBe(401);
  });

  it('caches a review by token until expiry: repeated requests do not reach the apiserver', async () => {
    await post(c.url, beat({ podUid: podB.uid, pod: podB.name, namespace: 'shop', seq: 1 }), tokenB);
    const before = kube.reviews;
    for (let seq = 2; seq < 12; seq++) expect((await post(c.url, beat({ podUid: podB.uid, pod: podB.name, namespace: 'shop', seq }), tokenB)).status).toBe(202);
    expect(kube.reviews).toBe(before);
  });

  it('answers 503 with Retry-After when the apiserver cannot be reached for a new token', async () => {
    await kube.close();
    const fresh = fakeJwt('pod-c', Math.floor(Date.now() / 1000) + 3600);
    const r = await post(c.url, beat(), fresh);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBeDefined();
    // A token reviewed before the outage still works from the cache.
    expect((await post(c.url, beat({ podUid: podA.uid, pod: podA.name, namespace: 'shop', seq: 99 }), tokenA)).status).toBe(202);
  });
});

describe('agent authentication with static tokens', () => {
  let c: Collector;
  const pinned = randomUUID();
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podpulse-static-'));
    const file = join(dir, 'tokens.yaml');
    writeFileSync(file, [
      'tokens:',
      '  - { name: shop-web, token: shop-web-token-0123456789, namespace: shop, app: web }',
      `  - { name: pinned, token: pinned-token-0123456789, namespace: shop, app: web, podUid: ${pinned} }`,
    ].join('\n'));
    c = await collectorUnderTest({ auth: { mode: 'static', tokensFile: file } });
  });
  afterAll(() => c?.close());

  it('accepts heartbeats of the namespace and app the token is bound to', async () => {
    expect((await post(c.url, beat({ namespace: 'shop', app: 'web' }), 'shop-web-token-0123456789')).status).toBe(202);
  });

  it('answers 403 for another app, and for another pod when the token is pinned to a pod uid', async () => {
    const r = await post(c.url, beat({ namespace: 'shop', app: 'billing' }), 'shop-web-token-0123456789');
    expect(r.status).toBe(403);
    expect(r.json.error.violations[0]!.message).toMatch(/instance.app "billing"/);
    expect((await post(c.url, beat({ namespace: 'shop', app: 'web' }), 'pinned-token-0123456789')).status).toBe(403);
    expect((await post(c.url, beat({ namespace: 'shop', app: 'web', podUid: pinned }), 'pinned-token-0123456789')).status).toBe(202);
  });

  it('answers 401 for a token not in the file', async () => {
    expect((await post(c.url, beat(), 'some-other-token-0123456789')).status).toBe(401);
  });
});
