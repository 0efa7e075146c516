import { afterEach, describe, expect, it } from 'vitest';
import { DiagnosisEvent } from '../../../src/protocol/index.ts';
import { harness, pod, rules, seedRule, service, tempStore } from './engine-fixture.ts';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function setup() {
  const t = await tempStore();
  cleanup = () => t.cleanup();
  return harness(t.store, rules(seedRule('PodSidecarNotReady'), seedRule('ServiceDeleting')));
}

describe('PodSidecarNotReady (seed rule, verbatim)', () => {
  it('fires 300 s after the sidecar goes not-ready, with the field as evidence', async () => {
    const h = await setup();
    await h.send('ADDED', pod('web-1'));
    await h.clock.advance(10_000);
    await h.send('MODIFIED', pod('web-1', { sidecarReady: false }));
    await h.clock.advance(299_000);
    await h.engine.idle();
    expect(await h.events()).toEqual([]);
    await h.clock.advance(1_000);
    await h.engine.idle();
    const events = await h.events();
    expect(events).toHaveLength(1);
    const ev = DiagnosisEvent.parse(events[0]!.body);
    expect(ev).toMatchObject({ type: 'io.podpulse.rule.pod-sidecar-not-ready', status: 'firing', severity: 'warning', subject: 'Pod/shop/web-1' });
    expect(ev.time).toBe(new Date(h.clock.now()).toISOString());
    expect(ev.data.evidence).toEqual([{ kind: 'kubernetes', subject: 'Pod/shop/web-1', field: 'status.containerStatuses[name=sidecar].ready', value: false }]);
    expect(ev.data.summary).toBe('PodSidecarNotReady: Pod shop/web-1 for 5m');
  });

  it('does not fire when the sidecar becomes ready at 299 s', async () => {
    const h = await setup();
    await h.send('ADDED', pod('web-1', { sidecarReady: false }));
    await h.clock.advance(299_000);
    await h.send('MODIFIED', pod('web-1', { sidecarReady: true }));
    await h.clock.advance(3_600_000);
    await h.engine.idle();
    expect(await h.events()).toEqual([]);
    expect(h.engine.states()).toEqual([]);
    expect(h.engine.stats.cancelled).toBe(1);
  });

  it('resolves a firing event when the sidecar becomes ready, and ignores pods outside the filter', async () => {
    const h = await setup();
    await h.send('ADDED', pod('web-1', { sidecarReady: false }));
    await h.send('ADDED', pod('batch-1', { sidecarReady: false, component: 'job' }));
    await h.send('ADDED', pod('pending-1', { sidecarReady: false, phase: 'Pending' }));
    await h.send('ADDED', pod('going-1', { sidecarReady: false, deleting: true }));
    await h.clock.advance(300_000);
    await h.send('MODIFIED', pod('web-1', { sidecarReady: true }));
    const events = await h.events();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ status: 'resolved', subject: 'Pod/shop/web-1' });
    expect(events[0]!.resolvedAt).toBe(h.clock.now());
  });

  it('a deleted pod cancels its pending firing', async () => {
    const h = await setup();
    await h.send('ADDED', pod('web-1', { sidecarReady: false }));
    await h.clock.advance(100_000);
    await h.send('DELETED', pod('web-1', { sidecarReady: false }));
    await h.clock.advance(600_000);
    await h.engine.idle();
    expect(await h.events()).toEqual([]);
    expect(h.clock.pending).toBe(0);
  });

  it('a pod without a sidecar container is not "sidecar not ready"', async () => {
    const h = await setup();
    const p = pod('plain-1');
    (p.status as { containerStatuses: unknown[] }).containerStatuses.pop();
    await h.send('ADDED', p);
    await h.send('ADDED', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare', namespace: 'shop', uid: 'u-bare', labels: { 'sae.component': 'app' } }, status: { phase: 'Running' } });
    await h.clock.advance(600_000);
    expect(await h.events()).toEqual([]);
    expect(h.engine.stats.evalErrors).toBe(0);
  });
});

describe('ServiceDeleting (seed rule, verbatim)', () => {
  it('fires for a Service stuck with a deletionTimestamp', async () => {
    const h = await setup();
    await h.send('ADDED', service('api'));
    await h.send('MODIFIED', service('api', { deleting: true }));
    await h.clock.advance(300_000);
    await h.engine.idle();
    const events = await h.events();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'io.podpulse.rule.service-deleting', status: 'firing', subject: 'Service/shop/api' });
    expect((events[0]!.body as DiagnosisEvent).data.evidence).toEqual([
      { kind: 'kubernetes', subject: 'Service/shop/api', field: 'metadata.deletionTimestamp', value: '2026-01-01T00:00:00Z' },
    ]);
  });

  it('does not fire for a Service whose deletion completes', async () => {
    const h = await setup();
    await h.send('ADDED', service('api'));
    await h.send('MODIFIED', service('api', { deleting: true }));
    await h.clock.advance(30_000);
    await h.send('DELETED', service('api', { deleting: true }));
    await h.clock.advance(600_000);
    await h.engine.idle();
    expect(await h.events()).toEqual([]);
  });

  it('ignores Services without the label, and a stuck one that is finally deleted resolves', async () => {
    const h = await setup();
    await h.send('ADDED', service('other', { deleting: true, domain: 'x' }));
    await h.send('ADDED', service('api', { deleting: true }));
    await h.clock.advance(300_000);
    await h.send('DELETED', service('api', { deleting: true }));
    const events = await h.events();
    expect(events.map((e) => [e.subject, e.status])).toEqual([['Service/shop/api', 'resolved']]);
  });
});
