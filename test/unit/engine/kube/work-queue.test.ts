import { describe, expect, it } from 'vitest';
import type { ObjectEvent, ObjectEventType } from '../../../../collector/engine/kube/object-event.ts';
import { compareResourceVersions } from '../../../../collector/engine/kube/resource-version.ts';
import { WatermarkTracker } from '../../../../collector/engine/kube/watermark-tracker.ts';
import { CoalescingWorkQueue } from '../../../../collector/engine/kube/work-queue.ts';
import { captureLogs } from '../../../helpers/capture-logs.ts';
import { RecordingSink } from '../../../helpers/fake-kube-apiserver/recording-sink.ts';

const R = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };

function ev(key: string, rv: string, type: ObjectEventType = 'MODIFIED', uid = `uid-${key}`): ObjectEvent {
  return { type, resource: R, key, uid, resourceVersion: rv, object: { metadata: { name: key, uid, resourceVersion: rv } } };
}

describe('compareResourceVersions', () => {
  it('orders canonical decimals numerically and refuses anything else', () => {
    expect(compareResourceVersions('9', '10')).toBe(-1);
    expect(compareResourceVersions('123456789012345678901', '99')).toBe(1);
    expect(compareResourceVersions('42', '42')).toBe(0);
    expect(compareResourceVersions('042', '42')).toBeUndefined();
    expect(compareResourceVersions('a1', '2')).toBeUndefined();
    expect(compareResourceVersions('', '2')).toBeUndefined();
  });
});

describe('WatermarkTracker', () => {
  it('passes a position only when it and everything before it are done; list items carry no position', () => {
    const w = new WatermarkTracker('5');
    const a = w.track('6');
    const item = w.track(undefined);
    const b = w.track('8');
    w.done(b);
    expect(w.value).toBe('5');
    w.done(a);
    expect(w.value).toBe('6');
    w.checkpoint('9');
    expect(w.value).toBe('6');
    w.done(item);
    expect(w.value).toBe('9');
    expect(w.backlog).toBe(0);
  });
});

describe('CoalescingWorkQueue', () => {
  it('keeps only the newest version per key while it waits (numeric order, stale versions dropped)', async () => {
    const sink = new RecordingSink();
    const q = new CoalescingWorkQueue({ sink, log: captureLogs().log, workers: 1 });
    sink.close();
    q.add(ev('blocker', '1'), '1');
    q.add(ev('a', '10'), '10');
    q.add(ev('a', '12'), '12');
    q.add(ev('a', '11'), '11');
    q.add(ev('b', '13'), '13');
    sink.open();
    await q.idle();
    expect(sink.events.map((e) => `${e.key}@${e.resourceVersion}`)).toEqual(['blocker@1', 'a@12', 'b@13']);
    expect(q.watermark.value).toBe('13');
    expect(q.stats.coalesced).toBe(2);
  });

  it('falls back to arrival order for resourceVersions that are not decimal', async () => {
    const sink = new RecordingSink();
    const q = new CoalescingWorkQueue({ sink, log: captureLogs().log, workers: 1 });
    sink.close();
    q.add(ev('blocker', 'x1'), 'x1');
    q.add(ev('a', 'zz'), 'zz');
    q.add(ev('a', 'aa'), 'aa');
    sink.open();
    await q.idle();
    expect(sink.events.map((e) => `${e.key}@${e.resourceVersion}`)).toEqual(['blocker@x1', 'a@aa']);
    expect(q.watermark.value).toBe('aa');
  });

  it('never hands one key to two workers at once; a version arriving meanwhile goes next', async () => {
    let inFlight = 0;
    let maxSameKey = 0;
    const seen: string[] = [];
    const q = new CoalescingWorkQueue({
      log: captureLogs().log,
      workers: 4,
      sink: {
        async handle(e) {
          inFlight++;
          maxSameKey = Math.max(maxSameKey, inFlight);
          await new Promise((r) => setTimeout(r, 20));
          seen.push(e.resourceVersion);
          inFlight--;
        },
      },
    });
    q.add(ev('a', '1'), '1');
    await new Promise((r) => setTimeout(r, 5));
    q.add(ev('a', '2'), '2');
    q.add(ev('a', '3'), '3');
    await q.idle();
    expect(maxSameKey).toBe(1);
    expect(seen).toEqual(['1', '3']);
  });

  it('retries a failed event and holds the watermark until it succeeds', async () => {
    const sink = new RecordingSink();
    let fail = 2;
    sink.onEvent = () => {
      if (fail-- > 0) throw new Error('store down');
    };
    const logs = captureLogs();
    const q = new CoalescingWorkQueue({ sink, log: logs.log, workers: 1, retryMs: 10 });
    q.add(ev('a', '7'), '7');
    await new Promise((r) => setTimeout(r, 5));
    expect(q.watermark.value).toBeUndefined();
    await q.idle();
    expect(sink.events).toHaveLength(1);
    expect(q.stats.failures).toBe(2);
    expect(q.watermark.value).toBe('7');
    expect(logs.find('retrying')).toHaveLength(2);
  });

  it('a delete supersedes a waiting update of the same object', async () => {
    const sink = new RecordingSink();
    const q = new CoalescingWorkQueue({ sink, log: captureLogs().log, workers: 1 });
    sink.close();
    q.add(ev('blocker', '1'), '1');
    q.add(ev('a', '2', 'ADDED'), '2');
    q.add(ev('a', '3', 'DELETED'), '3');
    sink.open();
    await q.idle();
    expect(sink.summary()).toEqual(['MODIFIED blocker', 'DELETED a']);
  });
});
