import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Heartbeat } from '../../../src/protocol/heartbeat.ts';
import { beat, failCheck, type ApiBody } from '../../helpers/heartbeats.ts';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';

type Collector = Awaited<ReturnType<typeof collectorUnderTest>>;

async function post(c: Collector, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await request(`${c.url}/v1/heartbeats`, { method: 'POST', headers, body });
  const text = await res.body.text();
  let json: ApiBody;
  try {
    json = JSON.parse(text) as ApiBody;
  } catch {
    json = { error: { code: '', message: `not JSON: ${text.slice(0, 100)}`, violations: [] } };
  }
  return { status: res.statusCode, headers: res.headers, json, text };
}

/**
 * Lets onCommitted calls already queued run: the committer queues them with setImmediate when it answers a batch,
 * and this collector runs in the test's process, so one more setImmediate comes after them.
 */
const afterCommitHooks = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('POST /v1/heartbeats', () => {
  let c: Collector;
  const committed: Heartbeat[][] = [];
  beforeAll(async () => {
    c = await collectorUnderTest({ limits: { bodyBytes: '64Ki', decompressedBytes: '256Ki' } }, { onCommitted: (hbs) => committed.push(hbs) });
  });
  afterAll(() => c?.close());

  it('answers 202 with an ack only after the heartbeat is committed, and calls onCommitted', async () => {
    const hb = beat({ checks: [failCheck('dns-db')] });
    const r = await post(c, JSON.stringify(hb));
    expect(r.status).toBe(202);
    // configRevision is the config center's content hash of this instance's effective config, not what the agent sent.
    expect(r.json).toEqual({ apiVersion: 'podpulse.io/v1', accepted: 1, duplicates: 0, configRevision: expect.stringMatching(/^[0-9a-f]{16}$/) as unknown, commandsPending: false });
    // Read straight after the answer: the row must already be there.
    expect(await c.store.getInstance(hb.instance.podUid)).toMatchObject({ status: 'failing' });
    // onCommitted runs after the batch's answers are written (the diagnosis is not in their latency): soon, not before.
    await afterCommitHooks();
    expect(committed.flat().some((h) => h.instance.podUid === hb.instance.podUid)).toBe(true);
  });

  it('stores the same (boot, seq) posted twice once and reports the second as a duplicate', async () => {
    const hb = beat({ seq: 41 });
    const before = committed.flat().length;
    expect((await post(c, JSON.stringify(hb))).json).toMatchObject({ accepted: 1, duplicates: 0 });
    expect((await post(c, JSON.stringify(hb))).json).toMatchObject({ accepted: 0, duplicates: 1 });
    const roll = await c.store.listRollups({ from: 0, to: Date.now() + 60_000, podUid: hb.instance.podUid });
    expect(roll.reduce((s, x) => s + x.okSeconds, 0)).toBe(10);
    // The diagnosis sees it once.
    await afterCommitHooks();
    expect(committed.flat().length - before).toBe(1);
  });

  it('accepts a batch, and matches uids case-insensitively for dedup', async () => {
    const uid = randomUUID();
    const batch = { apiVersion: 'podpulse.io/v1', heartbeats: [0, 1, 2].map((seq) => beat({ podUid: uid, seq, sentAt: Date.now() - (3 - seq) * 10_000 })) };
    expect((await post(c, JSON.stringify(batch))).json).toMatchObject({ accepted: 3, duplicates: 0 });
    const upper = beat({ podUid: uid.toUpperCase(), pod: 'web-upper', seq: 2 });
    expect((await post(c, JSON.stringify(upper))).json).toMatchObject({ accepted: 0, duplicates: 1 });
  });

  it('accepts a gzip-compressed body', async () => {
    const hb = beat();
    const r = await post(c, gzipSync(JSON.stringify(hb)), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(r.status).toBe(202);
  });

  it('answers 400 listing each violation path when the heartbeat is invalid', async () => {
    const hb = beat();
    Object.assign(hb.checks[0]!, { status: 'down' });
    hb.instance.podUid = 'nope';
    const r = await post(c, JSON.stringify(hb));
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('PODPULSE_ERR_PROTOCOL');
    expect(r.json.error.message).toBe('invalid heartbeat');
    const paths = r.json.error.violations.map((v) => v.path);
    expect(paths).toEqual(expect.arrayContaining(['instance.podUid', 'checks[0].status']));
  });

  it('answers 400 with the batch index in the path for an invalid heartbeat in a batch', async () => {
    const bad = { ...beat(), seq: -1 };
    const r = await post(c, JSON.stringify({ apiVersion: 'podpulse.io/v1', heartbeats: [beat(), bad] }));
    expect(r.status).toBe(400);
    expect(r.json.error.violations).toEqual([{ path: 'heartbeats[1].seq', message: expect.stringContaining('at least 0') }]);
  });

  it('answers 400 for a body that is not JSON, and for gzip that is not gzip', async () => {
    const r = await post(c, '{"apiVersion":');
    expect(r.status).toBe(400);
    expect(r.json.error.violations[0]!.message).toMatch(/not valid JSON/);
    const empty = await post(c, '');
    expect(empty.status).toBe(400);
    expect(empty.json.error.violations).toEqual([{ path: '', message: 'the body is empty' }]);
    const g = await post(c, 'plain', { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(g.status).toBe(400);
    expect(g.json.error.violations[0]!.message).toMatch(/not valid gzip/);
  });

  it('answers 413 when the body is over the limit', async () => {
    const r = await post(c, JSON.stringify({ pad: 'x'.repeat(70 * 1024) }));
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('PODPULSE_ERR_PAYLOAD_TOO_LARGE');
  });

  it('answers 413 for a gzip bomb: small on the wire, huge when inflated', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const r = await post(c, bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(r.status).toBe(413);
    expect(r.json.error.message).toMatch(/decompressed/);
  });

  it('answers 415 for another content type or content encoding', async () => {
    const hb = JSON.stringify(beat());
    expect((await post(c, hb, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post(c, hb, {})).status).toBe(415);
    const br = await post(c, hb, { 'content-type': 'application/json', 'content-encoding': 'br' });
    expect(br.status).toBe(415);
    expect(br.json.error.code).toBe('PODPULSE_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('serves healthz, readyz and aggregated metrics without per-pod series', async () => {
    expect((await request(`${c.url}/healthz`)).statusCode).toBe(200);
    const ready = await request(`${c.url}/readyz`);
    expect(ready.statusCode).toBe(200);
    expect(await ready.body.json()).toEqual({ status: 'ready' });
    const m = await (await request(`${c.url}/metrics`)).body.text();
    expect(m).toMatch(/podpulse_ingest_heartbeats_total\{result="accepted"\} \d+/);
    expect(m).toMatch(/podpulse_ingest_rejections_total\{reason="too_large"\} [1-9]/);
    expect(m).toMatch(/podpulse_ingest_request_duration_seconds_bucket/);
    expect(m).toMatch(/podpulse_store_commit_duration_seconds_count\{store="sqlite",outcome="ok"\} [1-9]/);
    expect(m).toMatch(/podpulse_ingest_queue_depth \d+/);
    expect(m).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
  });
});

describe('write queue limit', () => {
  it('answers 429 with Retry-After when the heartbeats would not fit in the write queue', async () => {
    const c = await collectorUnderTest({ limits: { queueHeartbeats: 5, retryAfter: '3s' } });
    try {
      const uid = randomUUID();
      const batch = { apiVersion: 'podpulse.io/v1', heartbeats: [0, 1, 2, 3, 4, 5].map((seq) => beat({ podUid: uid, seq })) };
      const r = await post(c, JSON.stringify(batch));
      expect(r.status).toBe(429);
      expect(r.headers['retry-after']).toBe('3');
      expect(r.json.error.code).toBe('PODPULSE_ERR_OVERLOADED');
      expect(await c.store.getInstance(uid)).toBeUndefined();
      expect((await post(c, JSON.stringify({ ...batch, heartbeats: batch.heartbeats.slice(0, 5) }))).status).toBe(202);
    } finally {
      await c.close();
    }
  });
});
