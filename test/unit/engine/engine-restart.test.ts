import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../collector/engine/clock.ts';
import { harness, pod, rules, seedRule, tempStore } from './engine-fixture.ts';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe('rule states survive a restart', () => {
  it('a pending 300 s timer keeps its original deadline across a restart', async () => {
    const t = await tempStore();
    cleanup = () => t.cleanup();
    const set = rules(seedRule('PodSidecarNotReady'));
    const a = await harness(t.store, set);
    const start = a.clock.now();
    await a.send('ADDED', pod('web-1', { sidecarReady: false }));
    await a.clock.advance(100_000);
    await a.engine.close();
    await t.store.close();

    // A new process: a new store handle on the same file, a new engine, the clock where the old one stopped.
    const store2 = await t.reopen();
    const b = await harness(store2, set, { clock: new ManualClock(start + 100_000) });
    expect(b.engine.states()).toEqual([{ rule: 'PodSidecarNotReady', key: 'shop/web-1', status: 'pending', since: start, deadline: start + 300_000 }]);
    await b.clock.advance(199_000);
    await b.engine.idle();
    expect(await b.events()).toEqual([]);
    await b.clock.advance(1_000);
    await b.engine.idle();
    const evs = await b.events();
    expect(evs).toHaveLength(1);
    expect(evs[0]!.createdAt).toBe(start + 300_000);
  });

  it('a deadline that passed while no engine ran fires at start, once', async () => {
    const t = await tempStore();
    cleanup = () => t.cleanup();
    const set = rules(seedRule('PodSidecarNotReady'));
    const a = await harness(t.store, set);
    const start = a.clock.now();
    await a.send('ADDED', pod('web-1', { sidecarReady: false }));
    await a.engine.close();
    const b = await harness(t.store, set, { clock: new ManualClock(start + 900_000) });
    await b.clock.advance(0);
    await b.engine.idle();
    // The watch resumes and replays the same object: still matching, still one event.
    await b.send('MODIFIED', pod('web-1', { sidecarReady: false }));
    await b.clock.advance(600_000);
    const evs = await b.events();
    expect(evs.map((e) => e.status)).toEqual(['firing']);
  });

  it('an event that fired before the restart is resolved after it, without firing again', async () => {
    const t = await tempStore();
    cleanup = () => t.cleanup();
    const set = rules(seedRule('PodSidecarNotReady'));
    const a = await harness(t.store, set);
    await a.send('ADDED', pod('web-1', { sidecarReady: false }));
    await a.clock.advance(300_000);
    await a.engine.close();
    const b = await harness(t.store, set, { clock: new ManualClock(a.clock.now() + 5_000) });
    await b.send('MODIFIED', pod('web-1', { sidecarReady: false }));
    await b.clock.advance(400_000);
    expect((await b.events()).map((e) => e.status)).toEqual(['firing']);
    await b.send('MODIFIED', pod('web-1', { sidecarReady: true }));
    const evs = await b.events();
    expect(evs.map((e) => e.status)).toEqual(['resolved']);
    expect(b.engine.stats.fired).toBe(0);
  });

  it('a rule removed while the engine was down resolves its open events and drops its timers', async () => {
    const t = await tempStore();
    cleanup = () => t.cleanup();
    const a = await harness(t.store, rules(seedRule('PodSidecarNotReady'), { PodFailed: { resource: 'Pod', condition: "object.status.phase == 'Running'" } }));
    await a.send('ADDED', pod('web-1', { sidecarReady: false }));
    await a.engine.close();
    const b = await harness(t.store, rules(seedRule('ServiceDeleting')), { clock: new ManualClock(a.clock.now()) });
    await b.clock.advance(600_000);
    expect((await b.events()).map((e) => [e.type, e.status])).toEqual([['io.podpulse.rule.pod-failed', 'resolved']]);
    expect(b.engine.states()).toEqual([]);
  });
});

describe('rule hot reload', () => {
  it('a changed rule that reads what the projection already keeps re-evaluates at once: its event resolves, no relist', async () => {
    const t = await tempStore();
    cleanup = () => t.cleanup();
    const resyncs: string[][] = [];
    const h = await harness(t.store, rules({ Phase: { resource: 'Pod', condition: "object.status.phase == 'Running'" } }), { onResyncNeeded: (r) => resyncs.push(r.map((x) => x.kind)) });
    await h.send('ADDED', pod('a'));
    expect((await h.events()).map((e) => e.status)).toEqual(['firing']);
    await h.engine.setRules(rules({ Phase: { resource: 'Pod', condition: "object.status.phase == 'Failed'" } }));
    expect((await h.events()).map((e) => e.status)).toEqual(['resolved']);
    expect(resyncs).toEqual([]);
  });

  it('a rule that reads new fields asks for a relist of its kind; a removed rule resolves its events', async () => {
    const t = await tempStore();
    cleanup = () => t.cleanup();
    const resyncs: string[][] = [];
    const h = await harness(t.store, rules({ Phase: { resource: 'Pod', condition: "object.status.phase == 'Running'" } }), { onResyncNeeded: (r) => resyncs.push(r.map((x) => x.kind)) });
    await h.send('ADDED', pod('a'));
    await h.engine.setRules(rules({ Phase: { resource: 'Pod', condition: "object.spec.nodeName == 'node-1'" } }));
    expect(resyncs).toEqual([['Pod']]);
    // The relist delivers the object again, now projected with spec.nodeName.
    await h.send('MODIFIED', pod('a'));
    expect((await h.events()).map((e) => e.status)).toEqual(['firing']);
    await h.engine.setRules(rules());
    expect((await h.events()).map((e) => e.status)).toEqual(['resolved']);
    expect(h.engine.projection('Pod')(pod('a'))).toEqual({ metadata: { name: 'a', namespace: 'shop', uid: 'uid-a' } });
  });
});
