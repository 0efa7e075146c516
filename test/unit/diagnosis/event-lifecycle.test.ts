import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EventBook, type EventSpec } from '../../../collector/events/event-lifecycle.ts';
import { fingerprint } from '../../../collector/events/fingerprint.ts';
import { DiagnosisEvent } from '../../../src/protocol/index.ts';
import { checkResult } from '../../helpers/heartbeat-factory.ts';
import { Driver, T0, uid } from './driver.ts';

const spec = (over: Partial<EventSpec> = {}): EventSpec => ({
  type: 'check-failing',
  groupKey: `check:${uid(1)}:dns-db`,
  severity: 'critical',
  summary: 'dns dns-db DNS_NXDOMAIN on default/a',
  evidence: [{ kind: 'check', subject: 'default/a#dns-db', code: 'DNS_NXDOMAIN' }],
  instances: [uid(1)],
  ...over,
});

function scenario(): DiagnosisEvent[] {
  const t = new Driver();
  for (let i = 0; i < 8; i++) t.pod(i, { instance: { node: 'n-1' } });
  t.run(60_000, (p) => [checkResult({ id: 'dns-db', status: p.endsWith('0') ? 'fail' : 'ok', code: p.endsWith('0') ? 'DNS_NXDOMAIN' : 'OK', ...(p.endsWith('0') ? { details: { target: 'x.svc' } } : {}) })]);
  t.run(120_000, () => [checkResult({ id: 'dns-db', status: 'fail', code: 'DNS_NXDOMAIN', details: { target: 'x.svc' } })]);
  t.run(120_000, () => null);
  return t.events;
}

describe('event lifecycle', () => {
  it('fingerprints are sha256 of type and grouping key, stable across runs and processes', () => {
    expect(fingerprint('check-failing', 'k')).toBe(createHash('sha256').update('check-failing\nk').digest('hex').slice(0, 32));
    const a = scenario();
    const b = scenario();
    expect(a.length).toBeGreaterThan(2);
    expect(b.map((e) => [e.fingerprint, e.id, e.status])).toEqual(a.map((e) => [e.fingerprint, e.id, e.status]));
  });

  it('every event a scenario emits validates against the DiagnosisEvent schema', () => {
    for (const e of scenario()) expect(DiagnosisEvent.safeParse(e).error).toBeUndefined();
  });

  it('keeps a pending event unannounced and lets it vanish when it clears before firing', () => {
    const book = new EventBook({ source: '/test', updateMinIntervalMs: 60_000 });
    book.set(spec(), 'pending', T0);
    expect(book.take()).toEqual([]);
    expect(book.open(T0).map((e) => e.status)).toEqual(['pending']);
    book.resolve('check-failing', spec().groupKey, T0 + 1000);
    expect(book.take()).toEqual([]);
    expect(book.size).toBe(0);
  });

  it('dedups by fingerprint: pending → firing → updates → resolved is one event identity', () => {
    const book = new EventBook({ source: '/test', updateMinIntervalMs: 60_000 });
    book.set(spec(), 'pending', T0);
    book.set(spec(), 'firing', T0 + 30_000);
    book.set(spec(), 'firing', T0 + 40_000);
    book.set(spec({ summary: 'changed' }), 'firing', T0 + 50_000);
    expect(book.take().map((e) => e.status)).toEqual(['firing']);
    book.flush(T0 + 89_999);
    expect(book.take()).toEqual([]);
    book.flush(T0 + 90_000);
    book.set(spec({ summary: 'changed', severity: 'warning' }), 'firing', T0 + 91_000);
    book.resolve('check-failing', spec().groupKey, T0 + 100_000);
    const out = book.take();
    expect(out.map((e) => [e.status, e.data.summary, e.severity])).toEqual([
      ['firing', 'changed', 'critical'],
      ['firing', 'changed', 'warning'],
      ['resolved', 'changed', 'warning'],
    ]);
    expect(new Set(out.map((e) => e.fingerprint)).size).toBe(1);
    expect(new Set(out.map((e) => e.id)).size).toBe(3);
    for (const e of out) expect(DiagnosisEvent.safeParse(e).success).toBe(true);
  });

  it('cuts oversized content to the schema limits instead of emitting an invalid event', () => {
    const book = new EventBook({ source: '/test', updateMinIntervalMs: 0 });
    const many = Array.from({ length: 1500 }, (_, i) => uid(i));
    book.set(spec({ summary: 'x'.repeat(5000), instances: many, evidence: many.map((u) => ({ kind: 'check' as const, subject: u, value: 'y'.repeat(3000) })) }), 'firing', T0);
    const [e] = book.take();
    expect(DiagnosisEvent.safeParse(e).error).toBeUndefined();
    expect(e!.data.instances).toHaveLength(1000);
  });
});
