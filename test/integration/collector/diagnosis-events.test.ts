import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, verifySignature } from '../../../collector/events/webhook-signature.ts';
import type { CheckResult } from '../../../src/protocol/heartbeat.ts';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';
import { beat, okCheck } from '../../helpers/heartbeats.ts';
import { testPostgres } from '../../helpers/postgres.ts';
import { apiGet, eventually, postBeats } from './read-api-client.ts';

type Collector = Awaited<ReturnType<typeof collectorUnderTest>>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Short timings so scenarios take seconds: `for` 1 s, silence after 1.5 intervals (1 s beats), ticks every 100 ms. */
const FAST = {
  diagnosis: {
    tickInterval: '100ms',
    checks: { for: '1s', resolveFor: '1s' },
    silent: { intervalMultiplier: 1.5, minThreshold: '1s', for: '500ms' },
    massSilence: { share: 0.3, minCount: 10, window: '10s' },
    replayMaxAge: '5s',
  },
};

const dnsFail = (target: string): CheckResult => ({
  id: 'dns-db', kind: 'dns', status: 'fail', code: 'DNS_NXDOMAIN', latencyMs: 3, message: `${target}: NXDOMAIN`, details: { target },
});

const pg = await testPostgres();
afterAll(() => pg.stop());

let c: Collector | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

const events = async (q = '') => (await apiGet(c!.url, `/api/v1/events${q}`)).json.items as { id: string; type: string; status: string; summary: string; event: { data: { instances?: string[] } } }[];

describe.each([
  { name: 'sqlite', store: {} },
  ...(pg.url ? [{ name: 'postgres', store: { kind: 'postgres' as const, url: pg.url, schema: pg.schema } }] : []),
])('blast radius through the running collector on $name', ({ store }) => {
  it('turns 50 instances on one node failing the same DNS target into exactly one grouped event', async () => {
    c = await collectorUnderTest({ ...FAST, store });
    const beats = Array.from({ length: 50 }, (_, i) => beat({ app: i % 2 ? 'cart' : 'shop', node: 'n-12', checks: [dnsFail('mysql.prod.svc'), okCheck('http-api')] }));
    // Fifty agents posting at once, each its own request.
    expect(await Promise.all(beats.map((hb) => postBeats(c!.url, hb)))).toEqual(beats.map(() => 202));
    const [grouped] = await eventually(async () => {
      const items = await events();
      return items.length > 0 ? items : undefined;
    }, 10_000, 'a firing event');
    // Several more ticks: nothing else may appear.
    await sleep(1500);
    const all = await events();
    expect(all).toHaveLength(1);
    expect(grouped).toMatchObject({ type: 'io.podpulse.dependency-failing', status: 'firing' });
    expect(grouped!.summary).toMatch(/^dns mysql\.prod\.svc DNS_NXDOMAIN on 50 instances of 2 apps, all on node n-12/);
    expect(new Set(grouped!.event.data.instances)).toEqual(new Set(beats.map((b) => b.instance.podUid)));
    expect((await apiGet(c.url, '/api/v1/instances?node=n-12&status=failing&limit=100')).json.items).toHaveLength(50);
  });
});

describe('diagnosis through the running collector', () => {
  it('raises one ingest/network event when 50 instances go silent at once, and no per-instance silent events', async () => {
    c = await collectorUnderTest(FAST);
    const beats = Array.from({ length: 50 }, () => beat({ intervalMs: 1000 }));
    expect(await postBeats(c.url, beats)).toBe(202);
    // Then nothing: after 1.5 s they are all silent; after 0.5 s more their silence would fire.
    const suspect = await eventually(async () => {
      const items = await events();
      return items.length > 0 ? items : undefined;
    }, 10_000, 'an event');
    await sleep(2000);
    const all = await events();
    expect(all).toHaveLength(1);
    expect(suspect[0]).toMatchObject({ type: 'io.podpulse.ingest-suspect', status: 'firing' });
    expect(suspect[0]!.summary).toMatch(/^50 of 50 instances \(100%\) went silent/);
    expect(await events('?type=instance-silent')).toEqual([]);
    expect(await events('?status=pending')).toEqual([]);
    // The instances' own status still says what happened to each.
    expect((await apiGet(c.url, '/api/v1/instances?status=silent&limit=100')).json.items).toHaveLength(50);
    const timeline = (await apiGet(c.url, `/api/v1/instances/${beats[0]!.instance.podUid}/timeline`)).json.items as { check: string | null; to: string }[];
    expect(timeline.filter((t) => t.check === null).map((t) => t.to)).toEqual(['silent', 'healthy']);
  });

  it('fills history and SLA from a replayed batch of 1,000 old heartbeats without firing events', async () => {
    c = await collectorUnderTest(FAST);
    const app = 'replayed';
    const start = Date.now() - 3 * 3600_000;
    const pods = Array.from({ length: 10 }, () => ({ uid: randomUUID(), boot: randomUUID() }));
    // 10 instances × 100 beats of 10 s, three hours ago; beats 40..59 fail a DNS target on every instance.
    const batch = pods.flatMap((p) =>
      Array.from({ length: 100 }, (_, seq) =>
        beat({ podUid: p.uid, bootId: p.boot, seq, app, node: 'n-7', sentAt: start + seq * 10_000, checks: [seq >= 40 && seq < 60 ? dnsFail('db.prod.svc') : okCheck('dns-db')] }),
      ),
    );
    expect(batch).toHaveLength(1000);
    expect(await postBeats(c.url, batch)).toBe(202);
    await sleep(1500);
    expect(await events()).toEqual([]);
    expect(await events('?status=pending')).toEqual([]);
    const timeline = (await apiGet(c.url, `/api/v1/instances/${pods[0]!.uid}/timeline`)).json.items as { check: string | null; to: string; at: string }[];
    expect(timeline.filter((t) => t.check === null).map((t) => [t.to, Date.parse(t.at) - start])).toEqual([['healthy', 60 * 10_000], ['failing', 40 * 10_000], ['healthy', 0]]);
    const sla = (await apiGet(c.url, `/api/v1/sla?app=${app}&window=24h`)).json;
    expect(sla.okMinutes).toBeCloseTo((10 * 80 * 10) / 60, 1);
    expect(sla.lostMinutes.failing).toBeCloseTo((10 * 20 * 10) / 60, 1);
    // And no instance was declared silent for having been heard of only in the past.
    expect((await apiGet(c.url, '/api/v1/instances?status=silent')).json.items).toEqual([]);
  });

  it('detects silence only while this replica leads, and retires a silent pod Kubernetes says was deleted', async () => {
    c = await collectorUnderTest({ ...FAST, diagnosis: { ...FAST.diagnosis, timeDriven: false } });
    expect(c.diagnosis.isLeader).toBe(false);
    const [kept, deleted] = [beat({ intervalMs: 1000 }), beat({ intervalMs: 1000 })];
    expect(await postBeats(c.url, [kept, deleted])).toBe(202);
    await sleep(2000);
    // Past the silence threshold, but the time-driven part runs on another replica.
    expect((await apiGet(c.url, '/api/v1/instances?status=healthy')).json.items).toHaveLength(2);
    c.diagnosis.setKubeFacts({ podFacts: (uid) => (uid === deleted.instance.podUid ? { deleted: true } : {}), nodeFacts: () => ({}) });
    c.diagnosis.setLeader(true);
    const status = async (uid: string) => (await apiGet(c!.url, `/api/v1/instances/${uid}`)).json.status as string;
    await eventually(async () => ((await status(kept.instance.podUid)) === 'silent' && (await status(deleted.instance.podUid)) === 'retired' ? true : undefined), 5000, 'silent and retired');
    // One silent instance of two is not a fleet-wide silence: it gets its own event; the deleted pod gets none.
    const silent = await eventually(async () => {
      const items = await events('?type=instance-silent');
      return items.length > 0 ? items : undefined;
    }, 5000, 'the instance-silent event');
    expect(silent).toHaveLength(1);
    expect(silent[0]!.event.data.instances).toEqual([kept.instance.podUid]);
    expect(await events()).toHaveLength(1);
  });

  it('resolves, after a restart, a firing event the diagnosis does not raise again, and continues one it does', async () => {
    const cfg = { ...FAST, events: { staleAfterRestart: '1500ms' } };
    c = await collectorUnderTest(cfg);
    const [gone, stays] = [beat({ seq: 0, checks: [dnsFail('a.svc')] }), beat({ seq: 0, checks: [dnsFail('b.svc')] })];
    expect(await postBeats(c.url, [gone, stays])).toBe(202);
    const before = await eventually(async () => {
      const items = await events('?status=firing');
      return items.length === 2 ? items : undefined;
    }, 10_000, 'two firing events');
    const rowOf = (uid: string) => before.find((e) => e.event.data.instances?.includes(uid))!.id;
    await c.close();
    // Same store file, new process state: the diagnosis starts empty.
    const dir = c.dir;
    c = await collectorUnderTest({ ...cfg, store: { path: `${dir}/data/podpulse.db` } });
    expect(await postBeats(c.url, beat({ podUid: stays.instance.podUid, seq: 1, checks: [dnsFail('b.svc')] }))).toBe(202);
    const after = await eventually(async () => {
      const items = await events();
      return items.some((e) => e.status === 'resolved') ? items : undefined;
    }, 10_000, 'the stale event resolved');
    expect(after).toHaveLength(2);
    expect(after.find((e) => e.id === rowOf(gone.instance.podUid))).toMatchObject({ status: 'resolved' });
    expect(after.find((e) => e.id === rowOf(stays.instance.podUid))).toMatchObject({ status: 'firing' });
  });

  describe('webhook sink', () => {
    let server: Server;
    let url = '';
    const received: { body: string; signature: string | undefined }[] = [];
    const secret = 'webhook-secret-0123456789';
    beforeAll(async () => {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (ch: Buffer) => chunks.push(ch));
        req.on('end', () => {
          received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers[SIGNATURE_HEADER] as string | undefined });
          // The first delivery fails: the sink must retry and deliver it anyway.
          res.writeHead(received.length === 1 ? 503 : 204).end();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('stores a failing check event, delivers it signed (retrying a 503), and resolves the same row', async () => {
      c = await collectorUnderTest({ ...FAST, events: { webhook: { url, secret, timeout: '5s', queueLimit: 100, retry: { baseDelay: '100ms', maxDelay: '200ms', maxAttempts: 0 } } } });
      const uid = randomUUID();
      expect(await postBeats(c.url, beat({ podUid: uid, seq: 0, checks: [dnsFail('redis.prod.svc')] }))).toBe(202);
      const [stored] = await eventually(async () => {
        const items = await events('?status=firing');
        return items.length > 0 ? items : undefined;
      }, 10_000, 'a firing event');
      expect(stored).toMatchObject({ type: 'io.podpulse.check-failing', status: 'firing' });
      const delivered = await eventually(() => Promise.resolve(received.length >= 2 ? received : undefined), 10_000, 'a webhook delivery');
      expect(delivered[0]!.body).toBe(delivered[1]!.body);
      const body = JSON.parse(delivered[1]!.body) as { id: string; type: string; status: string; fingerprint: string };
      expect(verifySignature(secret, delivered[1]!.body, delivered[1]!.signature)).toBe(true);
      expect(verifySignature('another-secret-0123456789', delivered[1]!.body, delivered[1]!.signature)).toBe(false);
      expect(body).toMatchObject({ type: 'io.podpulse.check-failing', status: 'firing', id: stored!.id });

      // Healthy again: after the resolve hysteresis the same row is resolved, and the resolve is delivered too.
      expect(await postBeats(c.url, beat({ podUid: uid, seq: 1, checks: [okCheck('dns-db')] }))).toBe(202);
      const resolved = await eventually(async () => {
        const items = await events('?status=resolved');
        return items.length > 0 ? items : undefined;
      }, 10_000, 'the resolved event');
      expect(resolved).toHaveLength(1);
      expect(resolved[0]).toMatchObject({ id: stored!.id, status: 'resolved' });
      expect(await events('?status=firing')).toEqual([]);
      const last = await eventually(() => Promise.resolve(received.length >= 3 ? received[2] : undefined), 10_000, 'the resolve delivery');
      expect(JSON.parse(last.body)).toMatchObject({ status: 'resolved', fingerprint: body.fingerprint });
      expect(verifySignature(secret, last.body, last.signature)).toBe(true);
      const metrics = await (await fetch(`${c.url}/metrics`)).text();
      expect(metrics).toMatch(/podpulse_events_total\{type="check-failing",status="firing"\} 1/);
      expect(metrics).toMatch(/podpulse_webhook_deliveries_total\{outcome="delivered"\} 2/);
      expect(metrics).toMatch(/podpulse_webhook_deliveries_total\{outcome="retry"\} 1/);
    });
  });
});
