import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordConflictError, timeSortableId } from '../../../collector/store/record-store.ts';
import type { Store, StoredEvent } from '../../../collector/store/store.ts';
import { beat, failCheck, okCheck, warnCheck } from '../../helpers/heartbeats.ts';

const MIN = 60_000;
/** A fixed minute boundary so rollup arithmetic is exact. */
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

function event(over: Partial<StoredEvent> = {}): StoredEvent {
  return {
    id: randomUUID(), fingerprint: 'a'.repeat(16), type: 'io.podpulse.check.failing', status: 'firing', severity: 'warning',
    app: 'web', tenant: 'acme', subject: 'dns-db', body: { summary: 'dns fails', n: 1 }, createdAt: T0, updatedAt: T0, resolvedAt: null, ...over,
  };
}

/**
 * The behaviour every Store must have. `open` returns a fresh, empty, migrated-on-demand store; each store's test
 * file calls this once (test/integration/store/sqlite-store.test.ts, postgres-store.test.ts).
 */
export function storeConformance(name: string, open: () => Promise<Store>, opts: { skip?: string } = {}): void {
  const suite = opts.skip ? describe.skip : describe;
  suite(`${name} store conformance`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
      await store.migrate();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('applies migrations idempotently and reports ready', async () => {
      await store.migrate();
      expect(await store.ready()).toEqual({ ok: true });
    });

    it('registers an instance on its first heartbeat with identity, agent state and current checks', async () => {
      const hb = beat({ sentAt: T0, checks: [okCheck('dns-db'), failCheck('tcp-cache', 'DNS_NXDOMAIN')] });
      const out = await store.ingest([hb], T0 + 50);
      expect(out).toEqual([{ duplicate: false }]);
      const inst = await store.getInstance(hb.instance.podUid);
      expect(inst).toMatchObject({
        podUid: hb.instance.podUid, namespace: 'shop', pod: hb.instance.pod, node: 'node-1', app: 'web', tenant: 'acme', podIp: '10.0.0.7',
        bootId: hb.bootId, lastSeq: 0, intervalMs: 10_000, firstSeen: T0 + 50, lastSeen: T0 + 50, lastSentAt: T0, status: 'failing', statusSince: T0,
      });
      expect(inst?.agent).toEqual(hb.agent);
      const checks = await store.listChecks(hb.instance.podUid);
      expect(checks.map((c) => [c.checkId, c.status, c.code, c.since])).toEqual([['dns-db', 'ok', 'OK', T0], ['tcp-cache', 'fail', 'DNS_NXDOMAIN', T0]]);
      expect(checks[1]!.message).toBe('no such name');
    });

    it('stores the same (pod uid, boot id, seq) once, within a batch and across batches', async () => {
      const hb = beat({ sentAt: T0, seq: 7 });
      expect(await store.ingest([hb, hb], T0)).toEqual([{ duplicate: false }, { duplicate: true }]);
      expect(await store.ingest([hb, beat({ podUid: hb.instance.podUid, seq: 8, sentAt: T0 + 10_000 })], T0 + 10_000)).toEqual([{ duplicate: true }, { duplicate: false }]);
      const other = beat({ podUid: hb.instance.podUid, seq: 7, bootId: randomUUID(), sentAt: T0 + 20_000 });
      expect(await store.ingest([other], T0 + 20_000)).toEqual([{ duplicate: false }]);
      const roll = await store.listRollups({ from: T0 - 10 * MIN, to: T0 + 10 * MIN, podUid: hb.instance.podUid });
      // Three distinct heartbeats of 10 s each: a duplicate must not count twice.
      expect(roll.reduce((s, r) => s + r.okSeconds, 0)).toBe(30);
    });

    it('records status transitions only on change, with since kept while the status holds', async () => {
      const uid = randomUUID();
      const seqs = [okCheck('dns-db'), okCheck('dns-db'), failCheck('dns-db'), failCheck('dns-db'), okCheck('dns-db')];
      for (const [i, c] of seqs.entries()) await store.ingest([beat({ podUid: uid, seq: i, sentAt: T0 + i * 10_000, checks: [c] })], T0 + i * 10_000);
      const ts = await store.listTransitions(uid);
      const dns = ts.filter((t) => t.checkId === 'dns-db').map((t) => [t.at - T0, t.from, t.to, t.code]);
      expect(dns).toEqual([[40_000, 'fail', 'ok', 'OK'], [20_000, 'ok', 'fail', 'DNS_NXDOMAIN'], [0, null, 'ok', 'OK']]);
      const inst = ts.filter((t) => t.checkId === null).map((t) => [t.at - T0, t.from, t.to]);
      expect(inst).toEqual([[40_000, 'failing', 'healthy'], [20_000, 'healthy', 'failing'], [0, null, 'healthy']]);
      const [check] = await store.listChecks(uid);
      expect(check).toMatchObject({ status: 'ok', since: T0 + 40_000 });
    });

    it('applies a replayed batch in sentAt order and never moves current state back for a late heartbeat', async () => {
      const uid = randomUUID();
      const batch = [2, 0, 1].map((i) => beat({ podUid: uid, seq: i, sentAt: T0 + i * 10_000, checks: [i === 1 ? failCheck('dns-db') : okCheck('dns-db')] }));
      await store.ingest(batch, T0 + 60_000);
      const ts = (await store.listTransitions(uid)).filter((t) => t.checkId === 'dns-db').map((t) => [t.at - T0, t.to]);
      expect(ts).toEqual([[20_000, 'ok'], [10_000, 'fail'], [0, 'ok']]);
      const late = beat({ podUid: uid, seq: 99, sentAt: T0 + 5_000, checks: [failCheck('dns-db')] });
      expect(await store.ingest([late], T0 + 70_000)).toEqual([{ duplicate: false }]);
      expect(await store.getInstance(uid)).toMatchObject({ status: 'healthy', lastSeq: 2, lastSentAt: T0 + 20_000 });
      expect((await store.listChecks(uid))[0]).toMatchObject({ status: 'ok' });
      const roll = await store.listRollups({ from: T0 - MIN, to: T0 + MIN, podUid: uid });
      // The late beat still counts for the SLA: 10 s failing more.
      expect(roll.reduce((s, r) => s + r.failingSeconds, 0)).toBe(20);
    });

    it('drops a check a worker no longer reports, and keeps checks when only the daemon beats', async () => {
      const uid = randomUUID();
      await store.ingest([beat({ podUid: uid, seq: 0, sentAt: T0, checks: [okCheck('a'), okCheck('b')] })], T0);
      await store.ingest([beat({ podUid: uid, seq: 1, sentAt: T0 + 10_000, checks: [okCheck('a')] })], T0 + 10_000);
      expect((await store.listChecks(uid)).map((c) => c.checkId)).toEqual(['a']);
      await store.ingest([beat({ podUid: uid, seq: 2, sentAt: T0 + 20_000, source: 'daemon' })], T0 + 20_000);
      expect((await store.listChecks(uid)).map((c) => c.checkId)).toEqual(['a']);
      expect(await store.getInstance(uid)).toMatchObject({ status: 'unknown' });
    });

    it('rolls heartbeats up per instance per minute, split at minute boundaries by status', async () => {
      const uid = randomUUID();
      // Intervals of 20 s ending at 10:00:20, 10:00:40, 10:01:00, 10:01:10 (10 s interval, warn).
      await store.ingest([
        beat({ podUid: uid, seq: 0, sentAt: T0 + 20_000, intervalMs: 20_000, checks: [okCheck('a')] }),
        beat({ podUid: uid, seq: 1, sentAt: T0 + 40_000, intervalMs: 20_000, checks: [failCheck('a')] }),
        beat({ podUid: uid, seq: 2, sentAt: T0 + 70_000, intervalMs: 30_000, checks: [okCheck('a')] }),
        beat({ podUid: uid, seq: 3, sentAt: T0 + 80_000, intervalMs: 10_000, checks: [warnCheck('a')] }),
      ], T0 + 80_000);
      const roll = await store.listRollups({ from: T0, to: T0 + 2 * MIN, podUid: uid });
      expect(roll.map((r) => [r.minute - T0, r.okSeconds, r.degradedSeconds, r.failingSeconds, r.unknownSeconds])).toEqual([
        [0, 40, 0, 20, 0],
        [MIN, 10, 10, 0, 0],
      ]);
    });

    it('filters rollups by app and namespace', async () => {
      const a = beat({ sentAt: T0 + 10_000, app: 'rollup-a', namespace: 'ns-r' });
      const b = beat({ sentAt: T0 + 10_000, app: 'rollup-b', namespace: 'ns-r' });
      await store.ingest([a, b], T0 + 10_000);
      expect((await store.listRollups({ from: T0, to: T0 + MIN, app: 'rollup-a' })).map((r) => r.podUid)).toEqual([a.instance.podUid]);
      expect((await store.listRollups({ from: T0, to: T0 + MIN, namespace: 'ns-r' })).length).toBe(2);
    });

    it('lists instances with filters and cursor pagination that visits each once', async () => {
      const uids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const hb = beat({ sentAt: T0, namespace: 'paging', app: i % 2 ? 'odd' : 'even', node: `n-${i % 3}`, checks: [i === 3 ? failCheck('x') : okCheck('x')] });
        uids.push(hb.instance.podUid);
        await store.ingest([hb], T0);
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listInstances({ namespace: 'paging', limit: 3, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((i) => i.podUid));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([...uids].sort());
      expect((await store.listInstances({ namespace: 'paging', app: 'odd' })).items).toHaveLength(3);
      expect((await store.listInstances({ namespace: 'paging', node: 'n-0' })).items).toHaveLength(3);
      expect((await store.listInstances({ namespace: 'paging', status: 'failing' })).items.map((i) => i.podUid)).toEqual([uids[3]]);
      await expect(store.listInstances({ cursor: 'garbage!' })).rejects.toThrow(/cursor/);
    });

    it('returns nothing, not an error, for an unknown or malformed pod uid', async () => {
      expect(await store.getInstance(randomUUID())).toBeUndefined();
      expect(await store.getInstance('not-a-uid')).toBeUndefined();
      expect(await store.listChecks('not-a-uid')).toEqual([]);
      expect(await store.listTransitions('not-a-uid')).toEqual([]);
    });

    it('lets the diagnosis set a status heartbeats cannot express, as a transition', async () => {
      const hb = beat({ sentAt: T0 });
      await store.ingest([hb], T0);
      await store.setInstanceStatus(hb.instance.podUid, 'silent', T0 + 60_000);
      await store.setInstanceStatus(hb.instance.podUid, 'silent', T0 + 70_000);
      expect(await store.getInstance(hb.instance.podUid)).toMatchObject({ status: 'silent', statusSince: T0 + 60_000 });
      const t = (await store.listTransitions(hb.instance.podUid)).filter((x) => x.checkId === null);
      expect(t.map((x) => [x.from, x.to])).toEqual([['healthy', 'silent'], [null, 'healthy']]);
    });

    it('upserts events by id and lists them newest first with filters and a cursor', async () => {
      const fp = randomUUID().replace(/-/g, '');
      const e1 = event({ fingerprint: fp, updatedAt: T0 + 1 });
      const e2 = event({ fingerprint: fp, updatedAt: T0 + 2, status: 'pending' });
      const e3 = event({ fingerprint: fp, updatedAt: T0 + 3 });
      for (const e of [e1, e2, e3]) await store.upsertEvent(e);
      await store.upsertEvent({ ...e1, status: 'resolved', updatedAt: T0 + 4, resolvedAt: T0 + 4, body: { summary: 'resolved' } });
      const all = await store.listEvents({ fingerprint: fp });
      expect(all.items.map((e) => e.id)).toEqual([e1.id, e3.id, e2.id]);
      expect(all.items[0]).toMatchObject({ status: 'resolved', resolvedAt: T0 + 4, body: { summary: 'resolved' }, createdAt: T0 });
      expect((await store.listEvents({ fingerprint: fp, status: 'firing' })).items.map((e) => e.id)).toEqual([e3.id]);
      const p1 = await store.listEvents({ fingerprint: fp, limit: 2 });
      expect(p1.nextCursor).toBeDefined();
      const p2 = await store.listEvents({ fingerprint: fp, limit: 2, cursor: p1.nextCursor! });
      expect([...p1.items, ...p2.items].map((e) => e.id)).toEqual([e1.id, e3.id, e2.id]);
      expect(p2.nextCursor).toBeUndefined();
    });

    it('keeps engine watermarks', async () => {
      expect(await store.getWatermark('diagnosis.tick')).toBeUndefined();
      await store.setWatermark('diagnosis.tick', '1');
      await store.setWatermark('diagnosis.tick', '2');
      expect(await store.getWatermark('diagnosis.tick')).toBe('2');
    });

    it('prunes rows older than their retention and keeps newer ones', async () => {
      const now = T0 + 100 * 24 * 3600_000;
      const old = beat({ sentAt: T0 });
      const recent = beat({ sentAt: now - 1000 });
      await store.ingest([old], T0);
      await store.ingest([recent], now - 1000);
      const oldEvent = event({ status: 'resolved', updatedAt: T0 });
      await store.upsertEvent(oldEvent);
      const day = 24 * 3600_000;
      const r = await store.prune({ transitionsMs: day, rollupsMs: day, eventsMs: day, dedupMs: day, instancesMs: day }, now);
      expect(r.deleted).toBeGreaterThan(0);
      expect(await store.getInstance(old.instance.podUid)).toBeUndefined();
      expect(await store.listChecks(old.instance.podUid)).toEqual([]);
      expect(await store.getInstance(recent.instance.podUid)).toBeDefined();
      expect((await store.listRollups({ from: now - MIN, to: now + MIN, podUid: recent.instance.podUid })).length).toBe(1);
      expect((await store.listEvents({ fingerprint: oldEvent.fingerprint })).items.find((e) => e.id === oldEvent.id)).toBeUndefined();
      // The dedup key of the pruned heartbeat is gone: the same beat would be taken again.
      expect(await store.ingest([old], now)).toEqual([{ duplicate: false }]);
    });

    it('counts instances by app and status, and non-ok checks of live instances by kind, code and status', async () => {
      const ns = `counts-${randomUUID().slice(0, 8)}`;
      const app = `count-app-${randomUUID().slice(0, 8)}`;
      const beats = [
        beat({ sentAt: T0, namespace: ns, app, checks: [failCheck('a')] }),
        beat({ sentAt: T0, namespace: ns, app, checks: [failCheck('a'), warnCheck('b')] }),
        beat({ sentAt: T0, namespace: ns, app, checks: [okCheck('a')] }),
        beat({ sentAt: T0, namespace: ns, app, checks: [failCheck('a', 'DNS_TIMEOUT')] }),
      ];
      await store.ingest(beats, T0);
      await store.setInstanceStatus(beats[3]!.instance.podUid, 'silent', T0 + MIN);
      const counts = await store.countInstances({ namespace: ns });
      expect(counts).toEqual([{ app, status: 'failing', count: 2 }, { app, status: 'healthy', count: 1 }, { app, status: 'silent', count: 1 }]);
      expect(await store.countInstances({ app: `none-${app}` })).toEqual([]);
      const checks = await store.countChecks();
      const find = (kind: string, code: string, status: string) => checks.find((x) => x.kind === kind && x.code === code && x.status === status)?.count ?? 0;
      expect(find('dns', 'DNS_NXDOMAIN', 'fail')).toBeGreaterThanOrEqual(2);
      expect(find('http', 'LATENCY_HIGH', 'warn')).toBeGreaterThanOrEqual(1);
      // The silent instance's last known checks say nothing current: not counted.
      expect(find('dns', 'DNS_TIMEOUT', 'fail')).toBe(0);
      expect(checks.some((x) => (x.status as string) === 'ok')).toBe(false);
    });

    it('totals SLA seconds per app from minute rollups, and how long its instances existed', async () => {
      const ns = `sla-${randomUUID().slice(0, 8)}`;
      const app = `sla-app-${randomUUID().slice(0, 8)}`;
      const a = randomUUID();
      const b = randomUUID();
      // a: first heard at T0+60s for the minute before (ok), a fail beat at T0+3min, alive until the window ends.
      await store.ingest([beat({ podUid: a, seq: 0, sentAt: T0 + MIN, intervalMs: MIN, namespace: ns, app, checks: [okCheck('x')] })], T0 + MIN);
      await store.ingest([beat({ podUid: a, seq: 1, sentAt: T0 + 3 * MIN, intervalMs: MIN, namespace: ns, app, checks: [failCheck('x')] })], T0 + 3 * MIN);
      // b: one degraded minute, then retired at T0+4min.
      await store.ingest([beat({ podUid: b, seq: 0, sentAt: T0 + 2 * MIN, intervalMs: MIN, namespace: ns, app, checks: [warnCheck('x')] })], T0 + 2 * MIN);
      await store.setInstanceStatus(b, 'retired', T0 + 4 * MIN);
      const t = await store.slaTotals({ from: T0, to: T0 + 10 * MIN, app });
      expect(t).toEqual({ okSeconds: 60, degradedSeconds: 60, failingSeconds: 60, unknownSeconds: 0, existedSeconds: 10 * 60 + 3 * 60, instances: 2 });
      expect(await store.slaTotals({ from: T0, to: T0 + 10 * MIN, namespace: ns })).toEqual(t);
      // A window after b was retired holds only a.
      expect(await store.slaTotals({ from: T0 + 5 * MIN, to: T0 + 10 * MIN, app })).toEqual({ okSeconds: 0, degradedSeconds: 0, failingSeconds: 0, unknownSeconds: 0, existedSeconds: 300, instances: 1 });
      expect(await store.slaTotals({ from: T0, to: T0 + 10 * MIN, app: `none-${app}` })).toEqual({ okSeconds: 0, degradedSeconds: 0, failingSeconds: 0, unknownSeconds: 0, existedSeconds: 0, instances: 0 });
    });

    it('reports an instance whose agent says its probe is broken as probe-broken', async () => {
      const hb = beat({ sentAt: T0, checks: [okCheck('a')] });
      hb.agent = { ...hb.agent, breaker: 'open', breakerReason: 'worker over its memory limit' };
      await store.ingest([hb], T0);
      expect(await store.getInstance(hb.instance.podUid)).toMatchObject({ status: 'probe-broken' });
    });

    it('ingests a batch of 1,000 heartbeats of 100 instances in one call', async () => {
      const uids = Array.from({ length: 100 }, () => randomUUID());
      const batch = Array.from({ length: 1000 }, (_, i) => beat({ podUid: uids[i % 100], seq: Math.floor(i / 100), sentAt: T0 + Math.floor(i / 100) * 10_000, checks: [i % 7 ? okCheck('a') : failCheck('a')] }));
      const out = await store.ingest(batch, T0 + 100_000);
      expect(out.filter((o) => !o.duplicate)).toHaveLength(1000);
      expect(await store.getInstance(uids[42]!)).toMatchObject({ lastSeq: 9 });
    });

    it('creates, replaces and deletes records with a version that grows by one per write', async () => {
      const kind = `k-${randomUUID()}`;
      expect(await store.getRecord(kind, 'a')).toBeUndefined();
      const r1 = await store.putRecord(kind, 'a', { n: 1, nested: { list: [1, 'two'] } });
      expect(r1).toMatchObject({ kind, id: 'a', version: 1, body: { n: 1, nested: { list: [1, 'two'] } } });
      expect(r1.createdAt).toBe(r1.updatedAt);
      const r2 = await store.putRecord(kind, 'a', { n: 2 });
      expect(r2).toMatchObject({ version: 2, body: { n: 2 }, createdAt: r1.createdAt });
      expect(await store.getRecord(kind, 'a')).toEqual(r2);
      // A body that is itself a JSON string comes back as that string.
      expect((await store.putRecord(kind, 's', 'plain "text"')).body).toBe('plain "text"');
      expect(await store.getRecord(`${kind}-other`, 'a')).toBeUndefined();
      expect(await store.deleteRecord(kind, 'a')).toBe(true);
      expect(await store.deleteRecord(kind, 'a')).toBe(false);
      expect(await store.getRecord(kind, 'a')).toBeUndefined();
    });

    it('refuses a write whose expected version does not match, and changes nothing', async () => {
      const kind = `k-${randomUUID()}`;
      await store.putRecord(kind, 'x', { v: 'first' }, { expectedVersion: 0 });
      await expect(store.putRecord(kind, 'x', { v: 'dup' }, { expectedVersion: 0 })).rejects.toBeInstanceOf(RecordConflictError);
      await expect(store.putRecord(kind, 'x', { v: 'stale' }, { expectedVersion: 2 })).rejects.toBeInstanceOf(RecordConflictError);
      await expect(store.putRecord(kind, 'missing', { v: 'x' }, { expectedVersion: 1 })).rejects.toBeInstanceOf(RecordConflictError);
      expect(await store.getRecord(kind, 'missing')).toBeUndefined();
      expect(await store.getRecord(kind, 'x')).toMatchObject({ version: 1, body: { v: 'first' } });
      expect(await store.putRecord(kind, 'x', { v: 'second' }, { expectedVersion: 1 })).toMatchObject({ version: 2, body: { v: 'second' } });
      // Two writers racing from the same version: exactly one wins.
      const race = await Promise.allSettled([
        store.putRecord(kind, 'x', { v: 'a' }, { expectedVersion: 2 }),
        store.putRecord(kind, 'x', { v: 'b' }, { expectedVersion: 2 }),
      ]);
      expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(race.filter((r) => r.status === 'rejected' && r.reason instanceof RecordConflictError)).toHaveLength(1);
      expect((await store.getRecord(kind, 'x'))?.version).toBe(3);
    });

    it('lists records by id, in both directions, with prefix, cursor and limit', async () => {
      const kind = `k-${randomUUID()}`;
      const ids = ['app/b', 'app/a', 'app/c', 'apq', 'ap', 'tenant/x', 'app/a/deeper', 'App/upper'];
      for (const id of ids) await store.putRecord(kind, id, { id });
      const all = await store.listRecords<{ id: string }>(kind);
      // Code-point order in both stores (uppercase before lowercase, a prefix before its extensions).
      expect(all.map((r) => r.id)).toEqual(['App/upper', 'ap', 'app/a', 'app/a/deeper', 'app/b', 'app/c', 'apq', 'tenant/x']);
      expect(all.every((r) => r.body.id === r.id)).toBe(true);
      expect((await store.listRecords(kind, { idPrefix: 'app/' })).map((r) => r.id)).toEqual(['app/a', 'app/a/deeper', 'app/b', 'app/c']);
      expect((await store.listRecords(kind, { idPrefix: 'app/', after: 'app/a/deeper', limit: 1 })).map((r) => r.id)).toEqual(['app/b']);
      expect((await store.listRecords(kind, { idPrefix: 'app/', reverse: true })).map((r) => r.id)).toEqual(['app/c', 'app/b', 'app/a/deeper', 'app/a']);
      expect((await store.listRecords(kind, { reverse: true, after: 'app/a', limit: 2 })).map((r) => r.id)).toEqual(['ap', 'App/upper']);
      expect((await store.listRecords(kind, { limit: 0 })).length).toBe(1);
      expect(await store.listRecords(kind, { idPrefix: 'zzz' })).toEqual([]);
    });

    it('pages through more records than the default limit and caps a page at 1,000', async () => {
      const kind = `k-${randomUUID()}`;
      const ids: string[] = [];
      for (let i = 0; i < 1005; i++) ids.push(timeSortableId(T0 + Math.floor(i / 3)));
      // Time-sortable ids made in order already sort in that order, even within one millisecond.
      expect([...ids].sort()).toEqual(ids);
      await Promise.all(ids.map((id, i) => store.putRecord(kind, id, { i })));
      expect(await store.listRecords(kind)).toHaveLength(100);
      const big = await store.listRecords<{ i: number }>(kind, { limit: 5000 });
      expect(big).toHaveLength(1000);
      const rest = await store.listRecords<{ i: number }>(kind, { after: big[999]!.id, limit: 1000 });
      expect([...big, ...rest].map((r) => r.body.i)).toEqual(Array.from({ length: 1005 }, (_, i) => i));
      const newest = await store.listRecords<{ i: number }>(kind, { reverse: true, limit: 2 });
      expect(newest.map((r) => r.body.i)).toEqual([1004, 1003]);
    });
  });
}
