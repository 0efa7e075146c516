import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../../collector/store/postgres-store.ts';
import { beat, failCheck, okCheck } from '../../helpers/heartbeats.ts';
import { testPostgres } from '../../helpers/postgres.ts';

// PostgreSQL ingest plans a batch from the replica's own copy of its instances and writes it with one statement that
// applies only if every row is still at the version cached. These cases move rows behind a replica's back (another
// replica on the same database, the diagnosis, a prune) and check that the result is what one writer would produce.

const T0 = Date.UTC(2026, 0, 7, 9, 0, 0);
const testPg = await testPostgres();
afterAll(() => testPg.stop());

(testPg.url ? describe : describe.skip)('postgres ingest from a replica cache', () => {
  let a: PostgresStore;
  let b: PostgresStore;
  beforeAll(async () => {
    a = new PostgresStore({ url: testPg.url!, schema: testPg.schema });
    b = new PostgresStore({ url: testPg.url!, schema: testPg.schema });
    await a.migrate();
    await b.migrate();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  const hb = (podUid: string, seq: number, checks = [okCheck('dns-db')]) => beat({ podUid, seq, sentAt: T0 + seq * 10_000, checks });
  const paths = (s: PostgresStore) => s.ingestPaths;

  it('writes a known instance with the one-statement path, and with the locked path the first time', async () => {
    const uid = randomUUID();
    const before = paths(a);
    await a.ingest([hb(uid, 0)], T0);
    await a.ingest([hb(uid, 1)], T0 + 10_000);
    await a.ingest([hb(uid, 2, [failCheck('dns-db')])], T0 + 20_000);
    const after = paths(a);
    expect(after.locked - before.locked).toBe(1);
    expect(after.cached - before.cached).toBe(2);
    expect(await a.getInstance(uid)).toMatchObject({ lastSeq: 2, status: 'failing', statusSince: T0 + 20_000, firstSeen: T0, lastSeen: T0 + 20_000 });
    const t = await a.listTransitions(uid);
    expect(t.filter((x) => x.checkId === null).map((x) => [x.from, x.to])).toEqual([['healthy', 'failing'], [null, 'healthy']]);
    expect((await a.listChecks(uid)).map((c) => [c.checkId, c.status, c.since])).toEqual([['dns-db', 'fail', T0 + 20_000]]);
  });

  it('replans a batch whose instance another replica moved since it was cached, with transitions from the real state', async () => {
    const uid = randomUUID();
    await a.ingest([hb(uid, 0)], T0);
    await a.ingest([hb(uid, 1)], T0 + 10_000); // a caches the instance as healthy
    await b.ingest([hb(uid, 2, [failCheck('dns-db')])], T0 + 20_000); // b makes it failing behind a's back
    const before = paths(a);
    expect(await a.ingest([hb(uid, 3)], T0 + 30_000)).toEqual([{ duplicate: false }]);
    expect(paths(a).replanned - before.replanned).toBe(1);
    const inst = (await a.listTransitions(uid)).filter((x) => x.checkId === null).map((x) => [x.from, x.to, x.at]);
    expect(inst).toEqual([['failing', 'healthy', T0 + 30_000], ['healthy', 'failing', T0 + 20_000], [null, 'healthy', T0]]);
    const check = (await a.listTransitions(uid)).filter((x) => x.checkId === 'dns-db').map((x) => [x.from, x.to]);
    expect(check).toEqual([['fail', 'ok'], ['ok', 'fail'], [null, 'ok']]);
    // The replanned batch refreshed a's copy: the next one takes the one-statement path again.
    const mid = paths(a);
    await a.ingest([hb(uid, 4)], T0 + 40_000);
    expect(paths(a).cached - mid.cached).toBe(1);
    expect(await b.getInstance(uid)).toMatchObject({ lastSeq: 4, status: 'healthy', statusSince: T0 + 30_000, firstSeen: T0 });
  });

  it('answers a heartbeat another replica already stored as a duplicate and counts it once', async () => {
    const uid = randomUUID();
    await a.ingest([hb(uid, 0)], T0);
    await b.ingest([hb(uid, 0)], T0); // b learns the instance (a duplicate still shows it nothing)...
    await b.ingest([hb(uid, 1)], T0 + 10_000); // ...this one does
    await a.ingest([hb(uid, 2)], T0 + 20_000);
    // b's copy is stale and seq 2 is taken: the statement is turned back whole, dedup included, and replanned.
    expect(await b.ingest([hb(uid, 2), hb(uid, 3)], T0 + 30_000)).toEqual([{ duplicate: true }, { duplicate: false }]);
    const roll = await a.listRollups({ from: T0 - 60_000, to: T0 + 120_000, podUid: uid });
    expect(roll.reduce((s, r) => s + r.okSeconds, 0)).toBe(40);
    expect(await a.getInstance(uid)).toMatchObject({ lastSeq: 3 });
  });

  it('replans after the diagnosis set a status, so the next heartbeat leaves that status with a transition', async () => {
    const uid = randomUUID();
    await a.ingest([hb(uid, 0)], T0);
    await a.ingest([hb(uid, 1)], T0 + 10_000);
    await b.setInstanceStatus(uid, 'silent', T0 + 90_000);
    await a.ingest([hb(uid, 12)], T0 + 120_000);
    expect(await a.getInstance(uid)).toMatchObject({ status: 'healthy', statusSince: T0 + 120_000 });
    const inst = (await a.listTransitions(uid)).filter((x) => x.checkId === null).map((x) => [x.from, x.to]);
    expect(inst).toEqual([['silent', 'healthy'], ['healthy', 'silent'], [null, 'healthy']]);
  });

  it('registers again an instance a prune deleted while it was cached', async () => {
    const uid = randomUUID();
    const old = T0 - 30 * 86_400_000;
    await a.ingest([beat({ podUid: uid, seq: 0, sentAt: old })], old);
    await a.ingest([beat({ podUid: uid, seq: 1, sentAt: old + 10_000 })], old + 10_000);
    // Deleted by the other replica's prune: a still holds its copy.
    const day = 86_400_000;
    await b.prune({ transitionsMs: 400 * day, rollupsMs: 400 * day, eventsMs: 400 * day, dedupMs: 400 * day, instancesMs: 7 * day }, T0);
    expect(await a.getInstance(uid)).toBeUndefined();
    await a.ingest([beat({ podUid: uid, seq: 2, sentAt: T0 })], T0);
    expect(await a.getInstance(uid)).toMatchObject({ firstSeen: T0, lastSeq: 2, status: 'healthy' });
    expect((await a.listChecks(uid)).map((c) => [c.checkId, c.since])).toEqual([['dns-db', T0], ['http-api', T0]]);
  });

  it('writes concurrent batches of one replica for the same instance one after another, none turned back', async () => {
    const uid = randomUUID();
    await a.ingest([hb(uid, 0)], T0);
    const before = paths(a);
    const out = await Promise.all(Array.from({ length: 6 }, (_, i) => a.ingest([hb(uid, i + 1, [i % 2 ? failCheck('dns-db') : okCheck('dns-db')])], T0 + 70_000)));
    expect(out.flat()).toEqual(Array(6).fill({ duplicate: false }));
    expect(paths(a).replanned - before.replanned).toBe(0);
    expect(await a.getInstance(uid)).toMatchObject({ lastSeq: 6, status: 'failing' });
    // healthy from seq 0, then seq 2, 4, 6 fail and seq 3, 5 recover: five changes after the first, in seq order.
    const inst = (await a.listTransitions(uid)).filter((x) => x.checkId === null).reverse().map((x) => [x.to, x.at]);
    expect(inst).toEqual([['healthy', T0], ...[2, 3, 4, 5, 6].map((s) => [s % 2 ? 'healthy' : 'failing', T0 + s * 10_000])]);
  });

  it('keeps every heartbeat exactly once with two replicas ingesting the same pods at once', async () => {
    const pods = Array.from({ length: 20 }, () => randomUUID());
    for (const u of pods) await a.ingest([hb(u, 0)], T0);
    for (const u of pods) await b.ingest([hb(u, 1)], T0 + 10_000);
    // Both replicas get every seq 2..21 of every pod (a load balancer retrying on the other replica), in batches.
    const batches = (s: PostgresStore) =>
      Array.from({ length: 20 }, (_, k) => s.ingest(pods.map((u) => hb(u, k + 2, [(k + pods.indexOf(u)) % 5 === 0 ? failCheck('dns-db') : okCheck('dns-db')])), T0 + (k + 2) * 10_000));
    const out = (await Promise.all([...batches(a), ...batches(b)])).flat();
    expect(out.filter((o) => !o.duplicate)).toHaveLength(20 * 20);
    const c = new pg.Client({ connectionString: testPg.url! });
    await c.connect();
    try {
      const rows = (await c.query(`SELECT pod_uid, SUM(ok_ms + failing_ms) AS ms FROM ${testPg.schema}.rollups_minute WHERE pod_uid = ANY($1::uuid[]) GROUP BY pod_uid`, [pods])).rows;
      expect(rows.map((r: { ms: string }) => Number(r.ms))).toEqual(Array(20).fill(22 * 10_000));
    } finally {
      await c.end();
    }
    for (const u of pods) {
      const inst = await a.getInstance(u);
      expect(inst).toMatchObject({ lastSeq: 21, lastSentAt: T0 + 210_000 });
      // The instance's own transitions alternate and end in its current status, whichever replica wrote them.
      const t = (await a.listTransitions(u, { limit: 1000 })).filter((x) => x.checkId === null).reverse();
      for (let i = 1; i < t.length; i++) expect(t[i]!.from).toBe(t[i - 1]!.to);
      expect(t[t.length - 1]!.to).toBe(inst!.status);
    }
  });
});
