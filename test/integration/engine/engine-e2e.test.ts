// The watch engine inside a real collector, end to end: objects in the fake kube-apiserver → reflectors → rule
// engine → stored events, with rules loaded through the API or a ConfigMap.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectorConfig } from '../../../collector/config.ts';
import { ManualClock } from '../../../collector/engine/clock.ts';
import { RuleRegistry } from '../../../collector/engine/rules/rule-registry.ts';
import { openStore } from '../../../collector/store/open-store.ts';
import { FakeKubeApiserver } from '../../helpers/fake-kube-apiserver/fake-kube-apiserver.ts';
import { makePod } from '../../helpers/fake-kube-apiserver/pods.ts';
import { waitFor } from '../../helpers/fake-kube-apiserver/recording-sink.ts';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';
import { engineCollector, engineReady, eventSummary, putRule, seedRule, sleep, waitForEvents, type Collector } from './engine-harness.ts';

const NS = 'shop';
const notReady = (name: string) => makePod({ namespace: NS, name, sidecarReady: false });
const ready = (name: string) => makePod({ namespace: NS, name, sidecarReady: true });
const service = (name: string, finalizers?: string[]) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace: NS, name, labels: { 'sae-domain': 'sae-domain' }, ...(finalizers ? { finalizers } : {}) },
  spec: { type: 'ClusterIP', ports: [{ port: 80 }] },
});

let fake: FakeKubeApiserver | undefined;
const collectors: Collector[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of collectors.splice(0)) await c.close();
  await fake?.close();
  fake = undefined;
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function start(o: Partial<Parameters<typeof engineCollector>[0]> = {}): Promise<Collector> {
  fake ??= await FakeKubeApiserver.start({ bookmarkIntervalMs: 200 });
  const c = await engineCollector({ kubeconfig: fake.kubeconfigPath, ...o });
  collectors.push(c);
  await engineReady(c);
  return c;
}

const term = (c: Collector) => c.engine!.term!;
const podWatch = (c: Collector) => term(c).watches.get('Pod')!;

describe('the watch engine in the collector (fake kube-apiserver)', () => {
  it('fires both seed rules through the whole path, and neither for objects that recover or finish deleting', async () => {
    fake = await FakeKubeApiserver.start({ bookmarkIntervalMs: 200 });
    fake.create('pods', notReady('web-1'));
    fake.create('pods', ready('web-2'));
    fake.create('services', service('api', ['example.com/hold']));
    fake.create('services', service('gone'));
    const c = await start();
    expect(await putRule(c.url, 'PodSidecarNotReady', seedRule('PodSidecarNotReady', 2))).toBe(200);
    expect(await putRule(c.url, 'ServiceDeleting', seedRule('ServiceDeleting', 2))).toBe(200);
    await waitFor(() => term(c).watches.has('Service') && term(c).engine.states().length === 1, 10_000, 'web-1 pending');

    fake.update('pods', notReady('web-2'));
    fake.delete('services', NS, 'api');
    fake.delete('services', NS, 'gone');
    await waitFor(() => term(c).engine.states().length === 3, 10_000, 'web-2 and api pending');
    // web-2 recovers within the duration: its firing is cancelled.
    fake.update('pods', ready('web-2'));
    await waitFor(() => term(c).engine.states().length === 2, 10_000, 'web-2 recovered');

    const fired = ['rule.pod-sidecar-not-ready Pod/shop/web-1 firing', 'rule.service-deleting Service/shop/api firing'];
    expect(await waitForEvents(c, (s) => s.length >= 2)).toEqual(fired);
    await sleep(2500);
    expect(await eventSummary(c)).toEqual(fired);

    // The conditions stop holding: the sidecar is ready again, the finalizer goes and the deletion completes.
    fake.update('pods', ready('web-1'));
    fake.update('services', service('api'));
    expect(await waitForEvents(c, (s) => s.every((x) => x.endsWith('resolved')))).toEqual(fired.map((f) => f.replace('firing', 'resolved')));
  });

  it('the verbatim seed rules with a manual clock: PodSidecarNotReady fires at 300 s and not when ready at 299 s', async () => {
    const clock = new ManualClock(Date.now());
    const c = await start({ clock });
    expect(await putRule(c.url, 'PodSidecarNotReady', seedRule('PodSidecarNotReady'))).toBe(200);
    expect(await putRule(c.url, 'ServiceDeleting', seedRule('ServiceDeleting'))).toBe(200);
    await waitFor(() => term(c).watches.has('Service'), 10_000, 'the Service watch');
    await term(c).watches.get('Service')!.synced();
    fake!.create('pods', notReady('slow'));
    fake!.create('pods', notReady('quick'));
    fake!.create('services', service('stuck', ['example.com/hold']));
    fake!.create('services', service('finishing', ['example.com/hold']));
    fake!.delete('services', NS, 'stuck');
    fake!.delete('services', NS, 'finishing');
    await waitFor(() => term(c).engine.states().length === 4, 10_000, 'four pending');
    expect(term(c).engine.states().every((s) => s.deadline - s.since === 300_000)).toBe(true);

    await clock.advance(299_000);
    fake!.update('pods', ready('quick'));
    fake!.update('services', service('finishing'));
    await waitFor(() => term(c).engine.states().length === 2, 10_000, 'quick and finishing recovered');
    expect(await eventSummary(c)).toEqual([]);
    await clock.advance(1_000);
    await term(c).engine.idle();
    expect(await waitForEvents(c, (s) => s.length >= 2)).toEqual([
      'rule.pod-sidecar-not-ready Pod/shop/slow firing',
      'rule.service-deleting Service/shop/stuck firing',
    ]);
    await clock.advance(600_000);
    await term(c).engine.idle();
    expect(await eventSummary(c)).toHaveLength(2);
  });

  it('a watch dropped mid-stream resumes from its resourceVersion: no relist, every change delivered once', async () => {
    const c = await start();
    expect(await putRule(c.url, 'PodSidecarNotReady', seedRule('PodSidecarNotReady', 0))).toBe(200);
    await waitFor(() => podWatch(c).stats.lists === 2 && podWatch(c).reflector!.queue.size === 0, 10_000, 'the relist for the new rule');
    await podWatch(c).synced();
    const engine = term(c).engine;
    const before = { events: engine.stats.events, lists: podWatch(c).stats.lists, watches: podWatch(c).stats.watches };
    fake!.create('pods', notReady('a'));
    fake!.create('pods', ready('b'));
    await waitFor(() => engine.stats.events === before.events + 2, 10_000, 'a and b');
    const rv = podWatch(c).reflector!.resourceVersion;
    expect(fake!.dropWatches('pods')).toBeGreaterThan(0);
    fake!.create('pods', notReady('c'));
    fake!.update('pods', notReady('b'));
    await waitFor(() => engine.stats.events === before.events + 4, 10_000, 'c and b again');
    await sleep(500);
    expect(engine.stats.events).toBe(before.events + 4);
    expect(podWatch(c).stats.lists).toBe(before.lists);
    expect(podWatch(c).stats.watches).toBeGreaterThan(before.watches);
    const resumed = fake!.requests.filter((r) => r.verb === 'watch' && r.resource === 'pods' && r.query.get('resourceVersion') === rv);
    expect(resumed.length).toBeGreaterThan(0);
    expect(await waitForEvents(c, (s) => s.length === 3)).toEqual([
      'rule.pod-sidecar-not-ready Pod/shop/a firing',
      'rule.pod-sidecar-not-ready Pod/shop/b firing',
      'rule.pod-sidecar-not-ready Pod/shop/c firing',
    ]);
  });

  it('410 Gone → relist → a pod deleted while the watch was away is emitted as a delete (its event resolves)', async () => {
    const c = await start();
    expect(await putRule(c.url, 'PodSidecarNotReady', seedRule('PodSidecarNotReady', 0))).toBe(200);
    const doomed = (fake!.create('pods', notReady('doomed')).metadata as { uid: string }).uid;
    fake!.create('pods', notReady('stays'));
    await waitForEvents(c, (s) => s.length === 2);
    const listsBefore = podWatch(c).stats.lists;
    fake!.endWatchesAtOnce = true;
    fake!.dropWatches('pods');
    fake!.delete('pods', NS, 'doomed');
    fake!.compact();
    await sleep(300);
    fake!.endWatchesAtOnce = false;
    expect(await waitForEvents(c, (s) => s.includes('rule.pod-sidecar-not-ready Pod/shop/doomed resolved'))).toEqual([
      'rule.pod-sidecar-not-ready Pod/shop/doomed resolved',
      'rule.pod-sidecar-not-ready Pod/shop/stays firing',
    ]);
    expect(podWatch(c).stats.gone).toBeGreaterThan(0);
    expect(podWatch(c).stats.lists).toBeGreaterThan(listsBefore);
    expect(podWatch(c).stats.syncDeletes).toBe(1);
    // The facts index learned of the deletion too: the silent pod will be retired, not alarmed.
    expect(c.engine!.facts.podFacts(doomed).deleted).toBe(true);
  });

  it('restart: resumes from the watermark (no list), fires nothing twice, and a pending timer keeps its deadline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-restart-'));
    dirs.push(dir);
    const store = { path: join(dir, 'podpulse.db') };
    const c1 = await start({ store });
    expect(await putRule(c1.url, 'PodSidecarNotReady', seedRule('PodSidecarNotReady', 4))).toBe(200);
    expect(await putRule(c1.url, 'ServiceDeleting', seedRule('ServiceDeleting', 0))).toBe(200);
    await waitFor(() => term(c1).watches.has('Service'), 10_000, 'the Service watch');
    await term(c1).watches.get('Service')!.synced();
    fake!.create('services', service('api', ['example.com/hold']));
    fake!.delete('services', NS, 'api');
    fake!.create('pods', notReady('slow'));
    await waitForEvents(c1, (s) => s.length === 1);
    await waitFor(() => term(c1).engine.states().some((s) => s.key === 'shop/slow' && s.status === 'pending'), 10_000, 'slow pending');
    const pending = term(c1).engine.states().find((s) => s.key === 'shop/slow')!;
    const firedAt = (await c1.store.listEvents()).items[0]!.createdAt;
    await c1.close();
    collectors.splice(collectors.indexOf(c1), 1);

    fake!.requests.length = 0;
    const c2 = await start({ store });
    expect(term(c2).engine.states().find((s) => s.key === 'shop/slow')).toMatchObject({ status: 'pending', since: pending.since, deadline: pending.deadline });
    // Resumed: the index was rebuilt at the watermark and the watch went on from it; no reflector list, no relist.
    expect(podWatch(c2).stats.lists).toBe(0);
    expect(term(c2).watches.get('Service')!.stats.lists).toBe(0);
    expect(fake!.requests.some((r) => r.verb === 'list' && r.resource === 'pods' && r.query.get('resourceVersionMatch') === 'Exact')).toBe(true);
    expect(fake!.requests.filter((r) => r.verb === 'watch' && r.resource === 'pods').every((r) => (r.query.get('resourceVersion') ?? '') !== '')).toBe(true);

    const all = await waitForEvents(c2, (s) => s.length === 2, 10_000);
    expect(all).toEqual(['rule.pod-sidecar-not-ready Pod/shop/slow firing', 'rule.service-deleting Service/shop/api firing']);
    const slow = (await c2.store.listEvents()).items.find((e) => e.subject === 'Pod/shop/slow')!;
    expect(slow.createdAt).toBeGreaterThanOrEqual(pending.deadline);
    expect(slow.createdAt).toBeLessThan(pending.deadline + 1500);
    expect((await c2.store.listEvents()).items.find((e) => e.subject === 'Service/shop/api')!.createdAt).toBe(firedAt);
  });

  it('rules changed while no collector ran: the next start resumes, then relists the kind from the resumed index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-rules-offline-'));
    dirs.push(dir);
    const store = { path: join(dir, 'podpulse.db') };
    const c1 = await start({ store });
    expect(await putRule(c1.url, 'PodSidecarNotReady', seedRule('PodSidecarNotReady', 0))).toBe(200);
    fake!.create('pods', notReady('gone'));
    fake!.create('pods', notReady('quiet'));
    await waitForEvents(c1, (s) => s.length === 2);
    await sleep(300);
    await c1.close();
    collectors.splice(0);

    // Offline: a second rule is stored, and a pod is deleted.
    const offline = openStore(CollectorConfig.parse({ store }).store);
    await offline.migrate();
    const { registry } = await RuleRegistry.open(offline);
    await registry.put('Copy', JSON.parse(seedRule('PodSidecarNotReady', 0).replace('"PodSidecarNotReady"', '"Copy"')));
    await offline.close();
    fake!.delete('pods', NS, 'gone');

    fake!.requests.length = 0;
    const c2 = await start({ store });
    const expected = ['rule.copy Pod/shop/quiet firing', 'rule.pod-sidecar-not-ready Pod/shop/gone resolved', 'rule.pod-sidecar-not-ready Pod/shop/quiet firing'];
    expect(await waitForEvents(c2, (s) => s.join() === expected.join())).toEqual(expected);
    // Resumed at the watermark (an exact list rebuilt the index), then listed again for the changed rules.
    const pods = fake!.requests.filter((r) => r.resource === 'pods' && r.verb === 'list');
    expect(pods.some((r) => r.query.get('resourceVersionMatch') === 'Exact')).toBe(true);
    await waitFor(() => podWatch(c2).stats.lists === 1, 5_000, 'the relist');
    await sleep(500);
    expect(await eventSummary(c2)).toEqual(expected);
  });

  it('rules from a ConfigMap: loaded at start, and a new rule on a watched kind relists it so existing objects are evaluated', async () => {
    fake = await FakeKubeApiserver.start({ bookmarkIntervalMs: 200 });
    fake.create('configmaps', { metadata: { namespace: 'podpulse', name: 'podpulse-rules' }, data: { 'service.json': seedRule('ServiceDeleting', 0) } });
    fake.create('pods', notReady('old'));
    const c = await start({ engine: { rulesConfigMap: { namespace: 'podpulse', name: 'podpulse-rules' } } });
    expect(c.engine!.registry.list().map((r) => [r.name, r.origin])).toEqual([['ServiceDeleting', 'configmap']]);
    expect(term(c).watches.has('Service')).toBe(true);
    const listsBefore = podWatch(c).stats.lists;

    fake.update('configmaps', { metadata: { namespace: 'podpulse', name: 'podpulse-rules' }, data: { 'service.json': seedRule('ServiceDeleting', 0), 'pod.yaml': seedRule('PodSidecarNotReady', 0) } });
    expect(await waitForEvents(c, (s) => s.length === 1)).toEqual(['rule.pod-sidecar-not-ready Pod/shop/old firing']);
    expect(podWatch(c).stats.lists).toBe(listsBefore + 1);

    // A bad entry is refused on its own; the good rules stay.
    fake.update('configmaps', { metadata: { namespace: 'podpulse', name: 'podpulse-rules' }, data: { 'service.json': seedRule('ServiceDeleting', 0), 'pod.yaml': seedRule('PodSidecarNotReady', 0), 'bad.json': '{"Bad": {"resource": "Pod", "condition": "object.status.phase =="}}' } });
    await sleep(500);
    expect(c.engine!.registry.list().map((r) => r.name)).toEqual(['PodSidecarNotReady', 'ServiceDeleting']);
    // Deleting the ConfigMap unloads its rules; the open event resolves.
    fake.delete('configmaps', 'podpulse', 'podpulse-rules');
    expect(await waitForEvents(c, (s) => s[0]?.endsWith('resolved') === true)).toEqual(['rule.pod-sidecar-not-ready Pod/shop/old resolved']);
    expect(c.engine!.registry.list()).toEqual([]);
  });

  it('refuses bad engine settings naming the field, and starts (and stops) without a reachable apiserver', async () => {
    const bad = CollectorConfig.safeParse({ engine: { enabled: true, leaderElection: { leaseDuration: '5s', renewDeadline: '5s' }, rulesConfigMap: { namespace: 'Bad_NS', name: 'x' } } });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['engine.leaderElection.renewDeadline', 'engine.rulesConfigMap.namespace']));
    expect(CollectorConfig.parse({}).engine).toMatchObject({ enabled: false, leaderElection: { enabled: true, namespace: 'podpulse', name: 'podpulse-engine' }, pageSize: 500, streamingList: true });

    await expect(collectorUnderTest({ engine: { enabled: true, kubeconfig: '/nonexistent/kubeconfig' } })).rejects.toThrow(/^engine\.kubeconfig \(\/nonexistent\/kubeconfig\)/);

    fake = await FakeKubeApiserver.start();
    const dir = mkdtempSync(join(tmpdir(), 'engine-unreachable-'));
    dirs.push(dir);
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, readFileSync(fake.kubeconfigPath));
    await fake.close();
    fake = undefined;
    const c = await collectorUnderTest({ engine: { enabled: true, kubeconfig, leaderElection: { enabled: false }, backoff: { initial: '50ms', max: '200ms' } } });
    collectors.push(c);
    expect((await fetch(`${c.url}/api/v1/rules`)).status).toBe(200);
    await sleep(300);
    expect(c.diagnosis.isLeader).toBe(false);
    const t0 = Date.now();
    await c.close();
    collectors.splice(0);
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
