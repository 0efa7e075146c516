import { describe, expect, it } from 'vitest';
import { EventBook } from '../../../collector/events/event-lifecycle.ts';
import { EventRecorder } from '../../../collector/events/event-recorder.ts';
import type { EventQuery, Page, StoredEvent } from '../../../collector/store/store.ts';
import type { DiagnosisEvent } from '../../../src/protocol/index.ts';
import { T0 } from './driver.ts';

const spec = (groupKey: string, summary = `problem ${groupKey}`) => ({ type: 'check-failing', groupKey, severity: 'warning' as const, summary, evidence: [] });

/** Emissions of a real EventBook, so the recorder sees what the diagnosis really sends. */
function emissions(steps: ((b: EventBook) => void)[]): DiagnosisEvent[] {
  const book = new EventBook({ source: '/test', updateMinIntervalMs: 0 });
  for (const s of steps) s(book);
  return book.take();
}

describe('event recorder', () => {
  it('keeps one row per occurrence: firing, updates and resolve share the id and the creation time', () => {
    const r = new EventRecorder();
    const rows = r.rows(emissions([
      (b) => b.set(spec('a'), 'firing', T0),
      (b) => b.set(spec('a', 'worse now'), 'firing', T0 + 1000),
      (b) => b.resolve('check-failing', 'a', T0 + 2000),
    ]));
    expect(rows.map((x) => [x.status, x.updatedAt - T0, x.resolvedAt === null ? null : x.resolvedAt - T0])).toEqual([['firing', 0, null], ['firing', 1000, null], ['resolved', 2000, 2000]]);
    expect(new Set(rows.map((x) => x.id)).size).toBe(1);
    expect(rows.every((x) => x.createdAt === T0)).toBe(true);
    expect((rows[1]!.body as DiagnosisEvent).data.summary).toBe('worse now');
    expect(r.openCount).toBe(0);
    // The same problem again later is a new occurrence: a new row.
    const again = r.rows(emissions([(b) => b.set(spec('a'), 'firing', T0 + 10_000)]));
    expect(again[0]!.id).not.toBe(rows[0]!.id);
  });

  it('continues rows restored from the store, and resolves those not raised again after the grace period', async () => {
    const old = new EventRecorder().rows(emissions([(b) => b.set(spec('kept'), 'firing', T0), (b) => b.set(spec('gone'), 'firing', T0)]));
    const store = {
      listEvents: (q?: EventQuery): Promise<Page<StoredEvent>> => Promise.resolve({ items: old.filter((e) => e.status === q?.status) }),
    };
    const r = new EventRecorder();
    expect(await r.restore(store, T0 + 60_000)).toBe(2);
    const [kept] = r.rows(emissions([(b) => b.set(spec('kept'), 'firing', T0 + 61_000)]));
    expect(kept).toMatchObject({ id: old[0]!.id, createdAt: T0, status: 'firing' });
    expect(r.staleRows(T0 + 61_000, 10_000, new Set())).toEqual([]);
    const stale = r.staleRows(T0 + 70_000, 10_000, new Set());
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatchObject({ id: old[1]!.id, status: 'resolved', resolvedAt: T0 + 70_000, body: { status: 'resolved' } });
    // Decided once: nothing more to resolve later, and the continued row stays open.
    expect(r.staleRows(T0 + 80_000, 10_000, new Set())).toEqual([]);
    expect(r.openCount).toBe(1);
  });

  it('leaves a restored row open while the diagnosis holds its problem pending', async () => {
    const old = new EventRecorder().rows(emissions([(b) => b.set(spec('p'), 'firing', T0)]));
    const r = new EventRecorder();
    await r.restore({ listEvents: () => Promise.resolve({ items: old }) }, T0);
    expect(r.staleRows(T0 + 20_000, 10_000, new Set([old[0]!.fingerprint]))).toEqual([]);
    expect(r.openCount).toBe(1);
    // The pending problem went away without firing: the row of the previous run ends.
    expect(r.staleRows(T0 + 21_000, 10_000, new Set())).toMatchObject([{ id: old[0]!.id, status: 'resolved' }]);
  });
});
