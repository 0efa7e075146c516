import { afterEach, describe, expect, it } from 'vitest';
import type { DiagnosisEvent } from '../../../src/protocol/index.ts';
import { harness, node, pod, rules, tempStore } from './engine-fixture.ts';
import type { RuleSet } from '../../../collector/engine/rules/rule-set.ts';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function setup(set: RuleSet, opts: Parameters<typeof harness>[2] = {}) {
  const t = await tempStore();
  cleanup = () => t.cleanup();
  return harness(t.store, set, opts);
}

const open = async (h: Awaited<ReturnType<typeof setup>>) => (await h.events()).filter((e) => e.status === 'firing').map((e) => e.subject);

describe('the paradigms of the article', () => {
  it('has or lacks a field (DSL nilValue)', async () => {
    const h = await setup(rules({ PodWithoutOwner: { resource: 'Pod', checkField: [{ field: ['metadata', 'labels', 'owner'], nilValue: true }] } }));
    await h.send('ADDED', pod('a'));
    await h.send('ADDED', pod('b', { labels: { owner: 'team-x' } }));
    expect(await open(h)).toEqual(['Pod/shop/a']);
  });

  it('is in a state (CEL condition, duration 0)', async () => {
    const h = await setup(rules({ PodFailed: { resource: 'Pod', condition: "object.status.phase == 'Failed'", severity: 'critical' } }));
    await h.send('ADDED', pod('a', { phase: 'Failed' }));
    await h.send('ADDED', pod('b'));
    const evs = await h.events();
    expect(evs.map((e) => [e.subject, e.severity])).toEqual([['Pod/shop/a', 'critical']]);
    expect((evs[0]!.body as DiagnosisEvent).data.evidence).toEqual([{ kind: 'kubernetes', subject: 'Pod/shop/a', field: 'status.phase', value: 'Failed' }]);
  });

  it('two fields together (DSL, both entries must hold)', async () => {
    const h = await setup(rules({
      PodEvicted: { resource: 'Pod', checkField: [{ field: ['status', 'phase'], equalValue: ['Failed'] }, { field: ['status', 'reason'], equalValue: ['Evicted'] }] },
    }));
    const evicted = pod('a', { phase: 'Failed' });
    (evicted.status as Record<string, unknown>).reason = 'Evicted';
    await h.send('ADDED', evicted);
    await h.send('ADDED', pod('b', { phase: 'Failed' }));
    expect(await open(h)).toEqual(['Pod/shop/a']);
  });

  it('a field and a state for a duration (DSL notEqualValue + CEL, 60 s)', async () => {
    const h = await setup(rules({
      RestartingApp: { resource: 'Pod', duration: 60, filterField: [{ field: ['metadata', 'labels', 'sae.component'], notEqualValue: ['job'] }], condition: "object.status.containerStatuses.exists(c, c.name == 'app' && c.restartCount > 3)" },
    }));
    await h.send('ADDED', pod('a', { restarts: 5 }));
    await h.send('ADDED', pod('b', { restarts: 5, component: 'job' }));
    await h.clock.advance(59_000);
    expect(await open(h)).toEqual([]);
    await h.clock.advance(1_000);
    await h.engine.idle();
    expect(await open(h)).toEqual(['Pod/shop/a']);
  });

  it('A references B but B does not exist, and resolves when B appears', async () => {
    const h = await setup(rules({
      PodOnMissingNode: { resource: 'Pod', references: { node: { resource: 'Node', key: 'object.spec.nodeName' } }, filter: 'has(object.spec.nodeName)', condition: 'node == null', summary: 'pod {{key}} is bound to node {{object.spec.nodeName}}, which does not exist' },
    }));
    await h.send('ADDED', node('node-1', 'True'));
    await h.send('ADDED', pod('a', { node: 'node-1' }));
    await h.send('ADDED', pod('b', { node: 'node-9' }));
    const evs = await h.events();
    expect(evs.map((e) => e.subject)).toEqual(['Pod/shop/b']);
    expect((evs[0]!.body as DiagnosisEvent).data.summary).toBe('pod shop/b is bound to node node-9, which does not exist');
    await h.send('ADDED', node('node-9', 'True'));
    expect((await h.events()).map((e) => e.status)).toEqual(['resolved']);
  });

  it('A in state x while B in state y for a duration; B recovering first cancels', async () => {
    const h = await setup(rules({
      AppOnNotReadyNode: {
        resource: 'Pod',
        duration: 60,
        references: { node: { resource: 'Node', key: 'object.spec.nodeName' } },
        filterField: [{ field: ['status', 'phase'], equalValue: ['Running'] }],
        condition: "node != null && node.status.conditions.exists(c, c.type == 'Ready' && c.status != 'True')",
      },
    }));
    await h.send('ADDED', node('node-1', 'True'));
    await h.send('ADDED', pod('a', { node: 'node-1' }));
    await h.send('MODIFIED', node('node-1', 'Unknown'));
    await h.clock.advance(30_000);
    await h.send('MODIFIED', node('node-1', 'True'));
    await h.clock.advance(120_000);
    expect(await h.events()).toEqual([]);
    await h.send('MODIFIED', node('node-1', 'False'));
    await h.clock.advance(60_000);
    await h.engine.idle();
    const [ev] = await h.events();
    expect(ev).toMatchObject({ status: 'firing', subject: 'Pod/shop/a' });
    expect((ev!.body as DiagnosisEvent).data.evidence).toContainEqual({ kind: 'kubernetes', subject: 'node Node/node-1', field: 'status.conditions', value: JSON.stringify([{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'False' }]) });
    await h.send('DELETED', node('node-1', 'False'));
    expect((await h.events()).map((e) => e.status)).toEqual(['resolved']);
  });

  it('holds "B does not exist" until the referenced kind has been listed', async () => {
    const h = await setup(rules({ PodOnMissingNode: { resource: 'Pod', references: { node: { resource: 'Node', key: 'object.spec.nodeName' } }, condition: 'node == null' } }), { unsyncedKinds: ['Node'] });
    await h.send('ADDED', pod('a', { node: 'node-1' }));
    await h.send('ADDED', pod('b', { node: 'node-2' }));
    await h.send('ADDED', node('node-1', 'True'));
    expect(await h.events()).toEqual([]);
    await h.engine.markSynced('Node');
    expect(await open(h)).toEqual(['Pod/shop/b']);
  });

  it('rechecks conditions on outside state (now) at a jittered interval', async () => {
    const h = await setup(rules({
      StuckPending: { resource: 'Pod', recheckInterval: 60, condition: "object.status.phase == 'Pending' && now - timestamp(object.metadata.creationTimestamp) > duration('3600s')" },
    }));
    const p = pod('a', { phase: 'Pending' });
    (p.metadata as Record<string, unknown>).creationTimestamp = new Date(h.clock.now()).toISOString();
    await h.send('ADDED', p);
    await h.clock.advance(3_590_000);
    expect(await h.events()).toEqual([]);
    await h.clock.advance(80_000);
    await h.engine.idle();
    expect(await open(h)).toEqual(['Pod/shop/a']);
  });

  it('objects missing the fields a rule reads never throw: the rule just does not hold', async () => {
    const h = await setup(rules({ Unguarded: { resource: 'Pod', condition: "object.status.containerStatuses[1].state.waiting.reason == 'CrashLoopBackOff'" } }));
    await h.send('ADDED', { kind: 'Pod', metadata: { name: 'x', namespace: 'shop', uid: 'u1' } });
    await h.send('ADDED', pod('y'));
    expect(await h.events()).toEqual([]);
    expect(h.engine.stats.evalErrors).toBe(2);
  });

  it('a recreated object (same name, new uid) does not inherit the old one\'s timer', async () => {
    const h = await setup(rules({ SidecarDown: { resource: 'Pod', duration: 60, condition: "object.status.containerStatuses.exists(c, c.name == 'sidecar' && !c.ready)" } }));
    await h.send('ADDED', pod('a', { sidecarReady: false, uid: 'old' }));
    await h.clock.advance(50_000);
    await h.send('ADDED', pod('a', { sidecarReady: false, uid: 'new' }));
    await h.clock.advance(50_000);
    await h.engine.idle();
    expect(await h.events()).toEqual([]);
    await h.clock.advance(10_000);
    await h.engine.idle();
    expect(await open(h)).toEqual(['Pod/shop/a']);
  });
});
