import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../../collector/engine/kube/kube-client.ts';
import type { ResourceType } from '../../../../collector/engine/kube/object-event.ts';
import { pathProjection } from '../../../../collector/engine/kube/projection.ts';
import { Reflector, type ReflectorOptions } from '../../../../collector/engine/kube/reflector.ts';
import { SqliteStore } from '../../../../collector/store/sqlite-store.ts';
import { captureLogs } from '../../../helpers/capture-logs.ts';
import { FakeKubeApiserver } from '../../../helpers/fake-kube-apiserver/fake-kube-apiserver.ts';
import { makePod } from '../../../helpers/fake-kube-apiserver/pods.ts';
import { RecordingSink, waitFor } from '../../../helpers/fake-kube-apiserver/recording-sink.ts';

const PODS: ResourceType = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };

function uidOf(o: Record<string, unknown>): string {
  return (o.metadata as { uid: string }).uid;
}

describe('reflector against the fake apiserver', () => {
  let fake: FakeKubeApiserver;
  let dir: string;
  const running: Reflector[] = [];

  beforeAll(async () => {
    fake = await FakeKubeApiserver.start({ bookmarkIntervalMs: 0 });
    dir = await mkdtemp(join(tmpdir(), 'reflector-'));
  });
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
    fake.onRequest = undefined;
    fake.options.streamingList = true;
    fake.options.tooOldWatch = 'event';
    fake.endWatchesAtOnce = false;
    fake.stallRequests = false;
    fake.requests.length = 0;
  });
  afterAll(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A reflector on pods of one namespace (tests share the fake, not their objects). */
  function reflector(ns: string, sink: RecordingSink, extra: Partial<ReflectorOptions> = {}): Reflector {
    const r = new Reflector({
      client: KubeClient.fromFile(fake.kubeconfigPath),
      resource: PODS,
      namespace: ns,
      sink,
      log: captureLogs('info').log,
      backoff: { initialMs: 40, maxMs: 400 },
      projection: pathProjection([['status', 'phase'], ['status', 'containerStatuses']]),
      ...extra,
    });
    running.push(r);
    return r;
  }

  it('lists page by page, restarts the list when a continue token expires, and emits each object once', async () => {
    for (let i = 0; i < 10; i++) fake.create('pods', makePod({ namespace: 'pg', name: `p-${String(i).padStart(2, '0')}` }));
    let pages = 0;
    fake.onRequest = (r) => {
      if (r.verb === 'list' && r.namespace === 'pg' && r.query.get('continue') && ++pages === 2) fake.expireContinueTokens();
    };
    const sink = new RecordingSink();
    const r = reflector('pg', sink, { streamingList: false, pageSize: 3 });
    await r.start();
    await r.queue.idle();
    expect(r.stats.continueExpired).toBe(1);
    expect(sink.summary().sort()).toEqual(Array.from({ length: 10 }, (_, i) => `ADDED pg/p-${String(i).padStart(2, '0')}`));
    expect(r.resourceVersion).toBe(String(fake.rv));
    const lists = fake.requests.filter((q) => q.verb === 'list' && q.namespace === 'pg');
    expect(lists.every((q) => q.query.get('limit') === '3')).toBe(true);
    expect(lists.filter((q) => !q.query.get('continue'))).toHaveLength(2);
    // Projected: what the rules read plus identity, not the whole pod.
    const obj = sink.events[0]!.object;
    expect(Object.keys(obj).sort()).toEqual(['metadata', 'status']);
    expect(Object.keys(obj.metadata as object).sort()).toEqual(['name', 'namespace', 'resourceVersion', 'uid']);
    expect((obj as { spec?: unknown }).spec).toBeUndefined();
  });

  it('uses the streaming list when the server has it, and falls back to paginated LIST when it answers 422', async () => {
    fake.create('pods', makePod({ namespace: 'sl', name: 'a' }));
    fake.create('pods', makePod({ namespace: 'sl', name: 'b' }));
    const s1 = new RecordingSink();
    const r1 = reflector('sl', s1);
    await r1.start();
    await r1.queue.idle();
    expect(r1.stats.streamingLists).toBe(1);
    expect(fake.count('list')).toBe(0);
    expect(s1.summary()).toEqual(['ADDED sl/a', 'ADDED sl/b']);
    fake.create('pods', makePod({ namespace: 'sl', name: 'c' }));
    await waitFor(() => s1.events.length === 3);
    expect(s1.summary()[2]).toBe('ADDED sl/c');

    fake.options.streamingList = false;
    const s2 = new RecordingSink();
    const r2 = reflector('sl', s2);
    await r2.start();
    await r2.queue.idle();
    expect(r2.stats.streamingLists).toBe(0);
    expect(r2.stats.lists).toBe(1);
    expect(s2.summary()).toEqual(['ADDED sl/a', 'ADDED sl/b', 'ADDED sl/c']);
  });

  it('resumes a watch dropped mid-stream from the last resourceVersion, without duplicates or gaps', async () => {
    const sink = new RecordingSink();
    const r = reflector('drop', sink);
    await r.start();
    for (let i = 0; i < 5; i++) fake.create('pods', makePod({ namespace: 'drop', name: `d-${i}` }));
    await waitFor(() => sink.events.length === 5);
    const lastRv = r.resourceVersion;
    expect(lastRv).toBe(String(fake.rv));
    expect(fake.dropWatches('pods')).toBe(1);
    // Changes while the reflector reconnects.
    for (let i = 5; i < 10; i++) fake.create('pods', makePod({ namespace: 'drop', name: `d-${i}` }));
    fake.patch('pods', 'drop', 'd-0', { status: { phase: 'Failed' } });
    await waitFor(() => sink.events.length === 11);
    await r.queue.idle();
    expect(sink.summary()).toEqual([...Array.from({ length: 10 }, (_, i) => `ADDED drop/d-${i}`), 'MODIFIED drop/d-0']);
    const watches = fake.requests.filter((q) => q.verb === 'watch' && q.namespace === 'drop');
    expect(watches.at(-1)!.query.get('resourceVersion')).toBe(lastRv);
    expect(r.stats.relists).toBe(0);
  });

  for (const form of ['event', 'status'] as const) {
    it(`relists on 410 sent as ${form === 'event' ? 'an in-stream ERROR event' : 'HTTP status'} and emits the delete that happened in the gap`, async () => {
      fake.options.tooOldWatch = form;
      const ns = `gone-${form}`;
      const keep = fake.create('pods', makePod({ namespace: ns, name: 'keep' }));
      const doomed = fake.create('pods', makePod({ namespace: ns, name: 'doomed' }));
      const sink = new RecordingSink();
      const r = reflector(ns, sink);
      await r.start();
      await r.queue.idle();
      expect(sink.summary()).toEqual([`ADDED ${ns}/doomed`, `ADDED ${ns}/keep`]);
      sink.clear();
      // In one tick: the watch goes away, the pod is deleted, and history is compacted past the reflector's RV.
      fake.dropWatches('pods');
      fake.delete('pods', ns, 'doomed');
      fake.patch('pods', ns, 'keep', { metadata: { labels: { changed: 'yes' } } });
      fake.compact();
      await waitFor(() => r.stats.relists === 1 && sink.events.length === 2);
      await r.queue.idle();
      expect(r.stats.gone).toBe(1);
      const byType = Object.fromEntries(sink.events.map((e) => [e.type, e]));
      expect(byType.DELETED).toMatchObject({ key: `${ns}/doomed`, uid: uidOf(doomed) });
      expect(byType.MODIFIED).toMatchObject({ key: `${ns}/keep`, uid: uidOf(keep) });
      expect(r.stats.syncDeletes).toBe(1);
      expect(r.index.size).toBe(1);
    });
  }

  it('advances its resourceVersion and watermark on bookmarks', async () => {
    const store = new SqliteStore({ path: join(dir, 'bookmarks.db') });
    await store.migrate();
    const sink = new RecordingSink();
    const r = reflector('bm', sink, { watermarks: store, watermarkFlushMs: 50 });
    await r.start();
    fake.create('configmaps', { metadata: { namespace: 'other', name: 'cm' }, data: { a: '1' } });
    fake.create('configmaps', { metadata: { namespace: 'other', name: 'cm2' }, data: { a: '1' } });
    const rv = String(fake.rv);
    expect(r.resourceVersion).not.toBe(rv);
    const before = r.stats.bookmarks;
    fake.sendBookmarks('pods');
    await waitFor(() => r.resourceVersion === rv);
    expect(r.watermark).toBe(rv);
    expect(r.stats.bookmarks).toBe(before + 1);
    await r.flushWatermark();
    expect(await store.getWatermark(r.watermarkKey)).toBe(rv);
    expect(sink.events).toHaveLength(0);
    await store.close();
  });

  it('logs and counts malformed watch lines, and the stream continues', async () => {
    const logs = captureLogs('info');
    const sink = new RecordingSink();
    const r = reflector('bad', sink, { log: logs.log });
    await r.start();
    fake.injectWatchLine('pods', '{"type":"ADDED","object":{tru');
    fake.injectWatchLine('pods', '{"type":"MODIFIED"}');
    fake.injectWatchLine('pods', '{"type":"ADDED","object":{"metadata":{"name":"x"}}}');
    fake.create('pods', makePod({ namespace: 'bad', name: 'after' }));
    await waitFor(() => sink.events.length === 1);
    expect(sink.summary()).toEqual(['ADDED bad/after']);
    expect(r.stats.malformedLines).toBe(3);
    expect(logs.find('malformed watch line').map((l) => l.why)).toEqual(['not JSON', 'no type or object', 'no metadata.resourceVersion']);
    expect(r.stats.watches).toBe(1);
  });

  it('coalesces a burst of 100 updates to one pod into one sink call with the newest resourceVersion', async () => {
    const sink = new RecordingSink();
    const r = reflector('burst', sink, { workers: 1 });
    await r.start();
    sink.close();
    fake.create('pods', makePod({ namespace: 'burst', name: 'blocker' }));
    await waitFor(() => r.queue.size === 1);
    fake.create('pods', makePod({ namespace: 'burst', name: 'hot' }));
    for (let i = 0; i < 100; i++) fake.patch('pods', 'burst', 'hot', { metadata: { annotations: { n: String(i) } } });
    const newest = (fake.get('pods', 'burst', 'hot')!.metadata as { resourceVersion: string }).resourceVersion;
    await waitFor(() => r.resourceVersion === newest);
    sink.open();
    await r.queue.idle();
    expect(sink.of('burst/hot')).toHaveLength(1);
    expect(sink.of('burst/hot')[0]!.resourceVersion).toBe(newest);
    expect(r.queue.stats.coalesced).toBe(100);
    expect(r.watermark).toBe(newest);
  });

  it('resumes from the persisted watermark after a restart: no relist, nothing redelivered, nothing missed', async () => {
    const store = new SqliteStore({ path: join(dir, 'resume.db') });
    await store.migrate();
    for (let i = 0; i < 5; i++) fake.create('pods', makePod({ namespace: 'rs', name: `r-${i}` }));
    const s1 = new RecordingSink();
    const r1 = reflector('rs', s1, { watermarks: store });
    await r1.start();
    fake.patch('pods', 'rs', 'r-0', { status: { phase: 'Succeeded' } });
    await waitFor(() => s1.events.length === 6);
    await r1.queue.idle();
    await r1.stop();
    const wm = await store.getWatermark(r1.watermarkKey);
    expect(wm).toBe(String(fake.rv));

    // While no engine runs: one change, one delete, one new pod.
    fake.patch('pods', 'rs', 'r-1', { status: { phase: 'Failed' } });
    const gone = fake.delete('pods', 'rs', 'r-2');
    fake.create('pods', makePod({ namespace: 'rs', name: 'r-5' }));
    fake.requests.length = 0;

    const s2 = new RecordingSink();
    const r2 = reflector('rs', s2, { watermarks: store });
    await r2.start();
    await waitFor(() => s2.events.length === 3);
    await r2.queue.idle();
    expect(s2.summary()).toEqual(['MODIFIED rs/r-1', 'DELETED rs/r-2', 'ADDED rs/r-5']);
    expect(s2.of('rs/r-2')[0]!.uid).toBe(uidOf(gone));
    const watch = fake.requests.find((q) => q.verb === 'watch')!;
    expect(watch.query.get('resourceVersion')).toBe(wm);
    expect(watch.query.get('sendInitialEvents')).toBeNull();
    // The only list is the index rebuild at the watermark itself, which delivers nothing.
    const lists = fake.requests.filter((q) => q.verb === 'list');
    expect(lists.every((q) => q.query.get('resourceVersionMatch') === 'Exact' && q.query.get('resourceVersion') === wm)).toBe(true);
    expect(r2.stats.lists).toBe(0);
    expect(r2.stats.relists).toBe(0);

    // The rebuilt index makes a later 410 relist deliver only real differences.
    s2.clear();
    fake.dropWatches('pods');
    fake.delete('pods', 'rs', 'r-3');
    fake.compact();
    await waitFor(() => r2.stats.relists === 1 && s2.events.length === 1);
    await r2.queue.idle();
    expect(s2.summary()).toEqual(['DELETED rs/r-3']);
    await store.close();
  });

  it('gives up on a LIST page the apiserver never answers, and retries until it does', async () => {
    fake.create('pods', makePod({ namespace: 'hung', name: 'h' }));
    fake.stallRequests = true;
    const sink = new RecordingSink();
    const r = reflector('hung', sink, { streamingList: false, requestTimeoutMs: 200 });
    const started = r.start();
    await waitFor(() => r.stats.errors >= 2, 5000, 'timed-out attempts');
    fake.stallRequests = false;
    await started;
    await r.queue.idle();
    expect(sink.summary()).toEqual(['ADDED hung/h']);
  });

  it('backs off from watches that end at once, and reopens silent ones after the inactivity timeout', async () => {
    const sink = new RecordingSink();
    const r = reflector('quiet', sink, { inactivityTimeoutMs: 300 });
    await r.start();
    await waitFor(() => r.stats.inactivityTimeouts >= 1 && r.stats.watches >= 3, 5000, 'inactivity reopen');
    fake.endWatchesAtOnce = true;
    fake.endWatches('pods');
    await waitFor(() => r.stats.immediateEnds >= 3, 5000, 'immediate ends');
    fake.endWatchesAtOnce = false;
    fake.create('pods', makePod({ namespace: 'quiet', name: 'q' }));
    await waitFor(() => sink.events.length === 1, 5000, 'event after recovery');
    expect(sink.summary()).toEqual(['ADDED quiet/q']);
  });
});
