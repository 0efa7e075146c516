import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../../collector/store/postgres-store.ts';
import { SqliteStore } from '../../../collector/store/sqlite-store.ts';
import type { Store } from '../../../collector/store/store.ts';
import { beat, failCheck, okCheck } from '../../helpers/heartbeats.ts';
import { testPostgres } from '../../helpers/postgres.ts';

// The batched write path (multi-row statements, in-place instance updates, one-statement writes on PostgreSQL) at
// the edges where batching could change the outcome, on both stores.

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const dir = mkdtempSync(join(tmpdir(), 'podpulse-write-path-'));
const testPg = await testPostgres();
const pgUrl = testPg.url;
const schema = testPg.schema;
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await testPg.stop();
});

const backends: [string, () => Store, string | undefined][] = [
  ['sqlite', () => new SqliteStore({ path: join(dir, 'write-path.db') }), undefined],
  ['postgres', () => new PostgresStore({ url: testPg.url!, schema: testPg.schema }), testPg.url ? undefined : testPg.reason],
];

for (const [name, open, skip] of backends) {
  (skip ? describe.skip : describe)(`${name} ingest write path`, () => {
    let store: Store;
    beforeAll(async () => {
      store = open();
      await store.migrate();
    });
    afterAll(() => store?.close());

    it('answers each heartbeat of a 45-heartbeat batch (every chunk size) with its own outcome, repeats as duplicates', async () => {
      const uid = randomUUID();
      const beats = Array.from({ length: 40 }, (_, i) => beat({ podUid: i % 2 ? uid : randomUUID(), seq: i, sentAt: T0 + i * 1000 }));
      const batch = [...beats, beats[3]!, beats[0]!, beats[39]!, beat({ podUid: uid, seq: 100, sentAt: T0 + 100_000 }), beats[3]!];
      const out = await store.ingest(batch, T0 + 200_000);
      expect(out.map((o) => o.duplicate)).toEqual([...beats.map(() => false), true, true, true, false, true]);
      expect(await store.ingest(batch.slice(0, 5), T0 + 300_000)).toEqual(batch.slice(0, 5).map(() => ({ duplicate: true })));
      expect(await store.getInstance(uid)).toMatchObject({ lastSeq: 100, lastSentAt: T0 + 100_000 });
    });

    it('keeps a check that a batch removes and then reports again', async () => {
      const uid = randomUUID();
      await store.ingest([beat({ podUid: uid, seq: 0, sentAt: T0, checks: [okCheck('a'), okCheck('b')] })], T0);
      await store.ingest(
        [
          beat({ podUid: uid, seq: 1, sentAt: T0 + 10_000, checks: [okCheck('a')] }),
          beat({ podUid: uid, seq: 2, sentAt: T0 + 20_000, checks: [okCheck('a'), failCheck('b')] }),
        ],
        T0 + 20_000,
      );
      const checks = await store.listChecks(uid);
      expect(checks.map((c) => [c.checkId, c.status, c.since])).toEqual([['a', 'ok', T0], ['b', 'fail', T0 + 20_000]]);
    });

    it('moves an instance to a new namespace and app, keeping first seen, and keeps later in-place updates', async () => {
      const uid = randomUUID();
      await store.ingest([beat({ podUid: uid, seq: 0, sentAt: T0, namespace: 'old', app: 'one' })], T0);
      await store.ingest([beat({ podUid: uid, seq: 1, sentAt: T0 + 10_000, namespace: 'new', app: 'two', pod: 'renamed', node: 'node-9' })], T0 + 10_000);
      expect(await store.getInstance(uid)).toMatchObject({ namespace: 'new', app: 'two', pod: 'renamed', node: 'node-9', firstSeen: T0, lastSeq: 1 });
      expect((await store.listInstances({ namespace: 'old' })).items.some((i) => i.podUid === uid)).toBe(false);
      expect((await store.listInstances({ namespace: 'new', app: 'two' })).items.map((i) => i.podUid)).toContain(uid);
      const hb = beat({ podUid: uid, seq: 2, sentAt: T0 + 20_000, namespace: 'new', app: 'two', checks: [failCheck('dns-db')] });
      const { podIp: _gone, ...withoutIp } = hb.instance;
      await store.ingest([{ ...hb, agent: { ...hb.agent, configRevision: 'r2' }, instance: withoutIp }], T0 + 20_000);
      expect(await store.getInstance(uid)).toMatchObject({ status: 'failing', statusSince: T0 + 20_000, lastSeen: T0 + 20_000, firstSeen: T0, agent: { configRevision: 'r2' }, podIp: null });
    });

    it('dedups a spool replaying old seqs after newer ones arrived, and stores each replayed seq once', async () => {
      const uid = randomUUID();
      const boot = randomUUID();
      const hb = (seq: number) => beat({ podUid: uid, bootId: boot, seq, sentAt: T0 + seq * 10_000, checks: [okCheck('a')] });
      expect(await store.ingest([20, 21, 22].map(hb), T0 + 230_000)).toEqual(Array(3).fill({ duplicate: false }));
      // The spool's first attempt got through halfway before its answer was lost; it replays everything.
      expect(await store.ingest([0, 1, 2, 3, 4].map(hb), T0 + 240_000)).toEqual(Array(5).fill({ duplicate: false }));
      const replay = Array.from({ length: 23 }, (_, i) => hb(i));
      expect((await store.ingest(replay, T0 + 250_000)).map((o) => o.duplicate)).toEqual(replay.map((h) => h.seq <= 4 || h.seq >= 20));
      expect((await store.ingest(replay, T0 + 260_000)).every((o) => o.duplicate)).toBe(true);
      // 23 heartbeats of 10 s each, each counted once; the replayed (older) beats did not move the instance back.
      const roll = await store.listRollups({ from: T0 - 60_000, to: T0 + 600_000, podUid: uid });
      expect(roll.reduce((s, r) => s + r.okSeconds, 0)).toBe(230);
      expect(await store.getInstance(uid)).toMatchObject({ lastSeq: 22, lastSentAt: T0 + 220_000 });
    });

    if (name === 'postgres') {
      it('folds per-app rollup deltas into the per-app rollups without changing SLA totals', async () => {
        const app = `fold-${randomUUID().slice(0, 8)}`;
        const beats = Array.from({ length: 6 }, (_, i) => beat({ seq: i, sentAt: T0 + 10_000 + i * 1000, app, namespace: 'fold', checks: [i === 0 ? failCheck('a') : okCheck('a')] }));
        await Promise.all(beats.map((b) => store.ingest([b], T0 + 20_000)));
        const want = { okSeconds: 50, degradedSeconds: 0, failingSeconds: 10, unknownSeconds: 0 };
        expect(await store.slaTotals({ from: T0, to: T0 + 60_000, app })).toMatchObject(want);
        const c = new pg.Client({ connectionString: pgUrl! });
        await c.connect();
        try {
          const left = async () => Number((await c.query(`SELECT COUNT(*) AS n FROM ${schema}.rollups_app_minute_delta WHERE app = $1`, [app])).rows[0].n);
          for (let i = 0; i < 60 && (await left()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
          expect(await left()).toBe(0);
          const folded = (await c.query(`SELECT ok_ms, failing_ms FROM ${schema}.rollups_app_minute WHERE app = $1`, [app])).rows;
          expect(folded.map((r: { ok_ms: string; failing_ms: string }) => [Number(r.ok_ms), Number(r.failing_ms)])).toEqual([[50_000, 10_000]]);
        } finally {
          await c.end();
        }
        expect(await store.slaTotals({ from: T0, to: T0 + 60_000, app })).toMatchObject(want);
      });


      it('commits nothing of a batch whose write fails, dedup included, and the connection serves the next batch', async () => {
        const good = beat({ seq: 0, sentAt: T0 });
        // PostgreSQL text cannot hold NUL: the write statement fails after the dedup statement succeeded.
        const bad = beat({ seq: 0, sentAt: T0, checks: [{ ...failCheck('dns-db'), message: 'a\u0000b' }] });
        await expect(store.ingest([good, bad], T0)).rejects.toThrow(/PostgreSQL ingest/);
        expect(await store.getInstance(good.instance.podUid)).toBeUndefined();
        expect(await store.ingest([good], T0)).toEqual([{ duplicate: false }]);
        expect(await store.getInstance(good.instance.podUid)).toMatchObject({ lastSeq: 0 });
      });
    }
  });
}
