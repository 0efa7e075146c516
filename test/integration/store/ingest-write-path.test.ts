import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
const pg = await testPostgres();
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await pg.stop();
});

const backends: [string, () => Store, string | undefined][] = [
  ['sqlite', () => new SqliteStore({ path: join(dir, 'write-path.db') }), undefined],
  ['postgres', () => new PostgresStore({ url: pg.url!, schema: pg.schema }), pg.url ? undefined : pg.reason],
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

    if (name === 'postgres') {
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
