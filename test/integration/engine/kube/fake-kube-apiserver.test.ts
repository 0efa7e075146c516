import { AuthenticationV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeKubeApiserver } from '../../../helpers/fake-kube-apiserver/fake-kube-apiserver.ts';
import { makePod } from '../../../helpers/fake-kube-apiserver/pods.ts';

type WatchEvent = { type: string; object: { metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> }; code?: number; reason?: string } };

/** Runs a client-node watch and collects its events until `until` says stop (or the server ends it). */
function collectWatch(kc: KubeConfig, path: string, query: Record<string, string | number | boolean | undefined>, until: (events: WatchEvent[]) => boolean): Promise<{ events: WatchEvent[]; err: unknown }> {
  return new Promise((resolve) => {
    const events: WatchEvent[] = [];
    let ctl: AbortController | undefined;
    let settled = false;
    const finish = (err: unknown): void => {
      if (settled) return;
      settled = true;
      ctl?.abort();
      resolve({ events, err });
    };
    void new Watch(kc)
      .watch(path, query, (type, object) => {
        events.push({ type, object: object as WatchEvent['object'] });
        if (until(events)) finish(null);
      }, (err) => finish(err))
      .then((c) => {
        ctl = c;
        if (settled) c.abort();
      });
  });
}

function apiCode(e: unknown): number | undefined {
  return (e as { code?: number }).code;
}

describe('fake kube-apiserver, driven by @kubernetes/client-node', () => {
  let fake: FakeKubeApiserver;
  let kc: KubeConfig;
  let core: CoreV1Api;

  beforeAll(async () => {
    fake = await FakeKubeApiserver.start({ bookmarkIntervalMs: 0 });
    kc = new KubeConfig();
    kc.loadFromFile(fake.kubeconfigPath);
    core = kc.makeApiClient(CoreV1Api);
  });
  afterAll(() => fake.close());

  it('creates, gets and lists over HTTPS with a global, increasing resourceVersion', async () => {
    const a = await core.createNamespacedPod({ namespace: 'crud', body: makePod({ namespace: 'crud', name: 'a-1' }) });
    const b = await core.createNamespacedPod({ namespace: 'crud', body: makePod({ namespace: 'crud', name: 'b-1' }) });
    expect(a.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(b.metadata?.resourceVersion)).toBeGreaterThan(Number(a.metadata?.resourceVersion));
    const got = await core.readNamespacedPod({ namespace: 'crud', name: 'a-1' });
    expect(got.metadata?.resourceVersion).toBe(a.metadata?.resourceVersion);
    const list = await core.listNamespacedPod({ namespace: 'crud' });
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['a-1', 'b-1']);
    expect(list.metadata?.resourceVersion).toBe(String(fake.rv));
    await expect(core.createNamespacedPod({ namespace: 'crud', body: makePod({ namespace: 'crud', name: 'a-1' }) })).rejects.toSatisfy((e) => apiCode(e) === 409);
    await expect(core.readNamespacedPod({ namespace: 'crud', name: 'nope' })).rejects.toSatisfy((e) => apiCode(e) === 404);
  });

  it('refuses a wrong bearer token with 401', async () => {
    const bad = new KubeConfig();
    bad.loadFromString(fake.kubeconfig('wrong-token'));
    await expect(bad.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'crud' })).rejects.toSatisfy((e) => apiCode(e) === 401);
  });

  it('pages a list with limit/continue from one snapshot, and expires continue tokens with 410 Expired', async () => {
    for (let i = 0; i < 7; i++) fake.create('pods', makePod({ namespace: 'paged', name: `p-${i}` }));
    const first = await core.listNamespacedPod({ namespace: 'paged', limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.metadata?.remainingItemCount).toBe(4);
    fake.create('pods', makePod({ namespace: 'paged', name: 'p-late' }));
    const second = await core.listNamespacedPod({ namespace: 'paged', limit: 3, _continue: first.metadata!._continue });
    const third = await core.listNamespacedPod({ namespace: 'paged', limit: 3, _continue: second.metadata!._continue });
    // The snapshot is the one of the first page: the pod created meanwhile is not in it.
    expect([...first.items, ...second.items, ...third.items].map((p) => p.metadata?.name)).toEqual(['p-0', 'p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6']);
    expect(third.metadata?._continue).toBeFalsy();
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);

    const again = await core.listNamespacedPod({ namespace: 'paged', limit: 3 });
    fake.expireContinueTokens();
    const err = await core.listNamespacedPod({ namespace: 'paged', limit: 3, _continue: again.metadata!._continue }).catch((e: unknown) => e);
    expect(apiCode(err)).toBe(410);
    expect(JSON.stringify((err as { body?: unknown }).body)).toContain('Expired');
  });

  it('lists the state at an exact resourceVersion, and 410 once it is compacted', async () => {
    const p = fake.create('pods', makePod({ namespace: 'exact', name: 'x-1' }));
    const at = String(fake.rv);
    fake.delete('pods', 'exact', 'x-1');
    fake.create('pods', makePod({ namespace: 'exact', name: 'x-2' }));
    const then = await core.listNamespacedPod({ namespace: 'exact', resourceVersion: at, resourceVersionMatch: 'Exact' });
    expect(then.items.map((i) => [i.metadata?.name, i.metadata?.uid])).toEqual([['x-1', (p.metadata as { uid: string }).uid]]);
    fake.compact();
    await expect(core.listNamespacedPod({ namespace: 'exact', resourceVersion: at, resourceVersionMatch: 'Exact' })).rejects.toSatisfy((e) => apiCode(e) === 410);
  });

  it('filters lists by label and field selectors', async () => {
    fake.create('pods', makePod({ namespace: 'sel', name: 'web-1', labels: { tier: 'web' }, nodeName: 'n1' }));
    fake.create('pods', makePod({ namespace: 'sel', name: 'db-1', labels: { tier: 'db' }, nodeName: 'n2' }));
    fake.create('pods', makePod({ namespace: 'sel', name: 'web-2', labels: { tier: 'web' }, nodeName: 'n2', phase: 'Pending' }));
    const names = async (q: { labelSelector?: string; fieldSelector?: string }) => (await core.listNamespacedPod({ namespace: 'sel', ...q })).items.map((p) => p.metadata?.name);
    expect(await names({ labelSelector: 'tier=web' })).toEqual(['web-1', 'web-2']);
    expect(await names({ labelSelector: 'tier in (db,cache)' })).toEqual(['db-1']);
    expect(await names({ labelSelector: 'tier!=web,app' })).toEqual(['db-1']);
    expect(await names({ fieldSelector: 'spec.nodeName=n2,status.phase!=Pending' })).toEqual(['db-1']);
    await expect(core.listNamespacedPod({ namespace: 'sel', fieldSelector: 'spec.nodeName in (a)' })).rejects.toSatisfy((e) => apiCode(e) === 400);
  });

  it('watches from a resourceVersion: only later events, with bookmarks when asked', async () => {
    fake.create('pods', makePod({ namespace: 'w', name: 'w-0' }));
    const from = String(fake.rv);
    fake.create('pods', makePod({ namespace: 'w', name: 'w-1' }));
    fake.patch('pods', 'w', 'w-1', { metadata: { labels: { touched: 'yes' } } });
    const done = collectWatch(kc, '/api/v1/namespaces/w/pods', { resourceVersion: from, allowWatchBookmarks: true }, (ev) => ev.some((e) => e.type === 'BOOKMARK'));
    await waitFor(() => fake.openWatches('pods') > 0);
    fake.delete('pods', 'w', 'w-0');
    fake.sendBookmarks('pods');
    const { events } = await done;
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`)).toEqual(['ADDED w-1', 'MODIFIED w-1', 'DELETED w-0', 'BOOKMARK ']);
    expect(events.at(-1)!.object.metadata?.resourceVersion).toBe(String(fake.rv));
    const w = fake.requests.filter((r) => r.verb === 'watch').at(-1)!;
    expect(w.query.get('resourceVersion')).toBe(from);
  });

  it('answers a watch from a compacted resourceVersion with 410, in-stream or as HTTP status', async () => {
    fake.create('pods', makePod({ namespace: 'old', name: 'o-1' }));
    const old = String(fake.rv);
    fake.create('pods', makePod({ namespace: 'old', name: 'o-2' }));
    fake.compact();
    const inStream = await collectWatch(kc, '/api/v1/namespaces/old/pods', { resourceVersion: old }, () => false);
    expect(inStream.events).toHaveLength(1);
    expect(inStream.events[0]!.type).toBe('ERROR');
    expect(inStream.events[0]!.object).toMatchObject({ code: 410, reason: 'Expired' });
    fake.options.tooOldWatch = 'status';
    const asStatus = await collectWatch(kc, '/api/v1/namespaces/old/pods', { resourceVersion: old }, () => false);
    fake.options.tooOldWatch = 'event';
    expect(asStatus.events).toHaveLength(0);
    expect((asStatus.err as { statusCode?: number }).statusCode).toBe(410);
  });

  it('streams a list (sendInitialEvents) ending with the initial-events-end bookmark, or refuses it like v1.20', async () => {
    fake.create('pods', makePod({ namespace: 'stream', name: 's-1' }));
    fake.create('pods', makePod({ namespace: 'stream', name: 's-2' }));
    const q = { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true };
    const { events } = await collectWatch(kc, '/api/v1/namespaces/stream/pods', q, (ev) => ev.some((e) => e.type === 'BOOKMARK'));
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`)).toEqual(['ADDED s-1', 'ADDED s-2', 'BOOKMARK ']);
    expect(events[2]!.object.metadata?.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    fake.options.streamingList = false;
    const refused = await collectWatch(kc, '/api/v1/namespaces/stream/pods', q, () => false);
    fake.options.streamingList = true;
    expect((refused.err as { statusCode?: number }).statusCode).toBe(422);
  });

  it('ends a watch at timeoutSeconds and cuts one on demand', async () => {
    const t0 = Date.now();
    const timed = await collectWatch(kc, '/api/v1/namespaces/t/pods', { resourceVersion: String(fake.rv), timeoutSeconds: 1 }, () => false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(timed.err).toBeNull();
    const cut = collectWatch(kc, '/api/v1/namespaces/t/pods', { resourceVersion: String(fake.rv) }, () => false);
    await waitFor(() => fake.openWatches('pods') > 0);
    expect(fake.dropWatches('pods')).toBe(1);
    await cut;
    expect(fake.openWatches('pods')).toBe(0);
  });

  it('keeps status apart: the main resource ignores it, the status subresource changes only it', async () => {
    fake.create('pods', makePod({ namespace: 'st', name: 'st-1', sidecarReady: true }));
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const viaMain = await core.patchNamespacedPod({ namespace: 'st', name: 'st-1', body: { metadata: { labels: { x: '1' } }, status: { phase: 'Failed' } } }, merge);
    expect(viaMain.metadata?.labels?.x).toBe('1');
    expect(viaMain.status?.phase).toBe('Running');
    const viaStatus = await core.patchNamespacedPodStatus({ namespace: 'st', name: 'st-1', body: { metadata: { labels: { y: '2' } }, status: { phase: 'Failed' } } }, merge);
    expect(viaStatus.status?.phase).toBe('Failed');
    expect(viaStatus.metadata?.labels?.y).toBeUndefined();
    const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
    const sidecar = await core.patchNamespacedPodStatus({ namespace: 'st', name: 'st-1', body: { status: { containerStatuses: [{ name: 'sidecar', ready: false }] } } }, strategic);
    expect(sidecar.status?.containerStatuses?.map((c) => [c.name, c.ready])).toEqual([['app', true], ['sidecar', false]]);
    const json = await core.patchNamespacedPod({ namespace: 'st', name: 'st-1', body: [{ op: 'add', path: '/metadata/labels/z', value: '3' }] });
    expect(json.metadata?.labels?.z).toBe('3');
  });

  it('deletes with finalizers in two steps: deletionTimestamp first, gone when the last finalizer is removed', async () => {
    fake.create('pods', makePod({ namespace: 'fin', name: 'f-1', finalizers: ['podpulse.io/a', 'podpulse.io/b'] }));
    await core.deleteNamespacedPod({ namespace: 'fin', name: 'f-1' });
    const terminating = await core.readNamespacedPod({ namespace: 'fin', name: 'f-1' });
    expect(terminating.metadata?.deletionTimestamp).toBeTruthy();
    const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
    await core.patchNamespacedPod({ namespace: 'fin', name: 'f-1', body: { metadata: { '$deleteFromPrimitiveList/finalizers': ['podpulse.io/a'] } } }, strategic);
    expect((await core.readNamespacedPod({ namespace: 'fin', name: 'f-1' })).metadata?.finalizers).toEqual(['podpulse.io/b']);
    await core.patchNamespacedPod({ namespace: 'fin', name: 'f-1', body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await expect(core.readNamespacedPod({ namespace: 'fin', name: 'f-1' })).rejects.toSatisfy((e) => apiCode(e) === 404);
  });

  it('guards Leases with optimistic concurrency (409 on a stale resourceVersion)', async () => {
    const coord = kc.makeApiClient(CoordinationV1Api);
    const lease = await coord.createNamespacedLease({ namespace: 'le', body: { metadata: { name: 'engine' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } } });
    const renewed = await coord.replaceNamespacedLease({ namespace: 'le', name: 'engine', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'a' , renewTime: new Date() } } });
    expect(renewed.metadata?.resourceVersion).not.toBe(lease.metadata?.resourceVersion);
    await expect(coord.replaceNamespacedLease({ namespace: 'le', name: 'engine', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } } })).rejects.toSatisfy((e) => apiCode(e) === 409);
    expect((await coord.readNamespacedLease({ namespace: 'le', name: 'engine' })).spec?.holderIdentity).toBe('a');
  });

  it('answers TokenReviews as scripted', async () => {
    fake.options.tokenReview = (spec) => (spec.token === 'good' ? { authenticated: true, user: { username: 'system:serviceaccount:ns:sa' }, audiences: spec.audiences } : { error: 'invalid bearer token' });
    const auth = kc.makeApiClient(AuthenticationV1Api);
    const ok = await auth.createTokenReview({ body: { spec: { token: 'good', audiences: ['podpulse'] } } });
    expect(ok.status).toMatchObject({ authenticated: true, user: { username: 'system:serviceaccount:ns:sa' }, audiences: ['podpulse'] });
    const no = await auth.createTokenReview({ body: { spec: { token: 'bad' } } });
    expect(no.status?.authenticated).toBeUndefined();
    expect(no.status?.error).toBe('invalid bearer token');
    expect(fake.count('tokenreview')).toBe(2);
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
