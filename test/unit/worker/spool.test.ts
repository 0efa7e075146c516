import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { instanceFromEnv } from '../../../src/agent/identity.ts';
import { createLogger } from '../../../src/log/logger.ts';
import type { HeartbeatInput } from '../../../src/protocol/heartbeat.ts';
import { HeartbeatBuilder } from '../../../worker/heartbeat-builder.ts';
import { Spool } from '../../../worker/spool.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'podpulse-spool-'));
  dirs.push(d);
  return d;
}

function beats(n: number, builder = new HeartbeatBuilder({ instance: instanceFromEnv({}).instance, version: '0.1.0', configRevision: '1' })): HeartbeatInput[] {
  return Array.from({ length: n }, () => builder.build({ checks: [], intervalMs: 1000, dropped: 0 }));
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

describe('Spool', () => {
  it('replays oldest first, one segment per batch, and deletes a segment only when acknowledged', async () => {
    const dir = tempDir();
    const spool = new Spool({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, segmentBytes: 8192, log });
    await spool.open();
    const hbs = beats(60);
    for (const hb of hbs) await spool.append(hb);
    expect(readdirSync(dir).length).toBeGreaterThan(1);
    const seen: number[] = [];
    const first = (await spool.oldest())!;
    // Not acknowledged: the same batch comes back.
    expect((await spool.oldest())!.segment).toBe(first.segment);
    for (let b = await spool.oldest(); b; b = await spool.oldest()) {
      seen.push(...b.heartbeats.map((h) => h.seq));
      await spool.ack(b);
    }
    expect(seen).toEqual(hbs.map((h) => h.seq));
    expect(readdirSync(dir)).toEqual([]);
    expect(spool.dropped).toBe(0);
  });

  it('stays under its byte cap by dropping the oldest segments and counts what it dropped', async () => {
    const dir = tempDir();
    const spool = new Spool({ dir, maxBytes: 16_384, maxAgeMs: 3_600_000, segmentBytes: 4096, log });
    await spool.open();
    const hbs = beats(400);
    for (const hb of hbs) {
      await spool.append(hb);
      expect(dirBytes(dir)).toBeLessThanOrEqual(16_384);
    }
    const kept: number[] = [];
    for (let b = await spool.oldest(); b; b = await spool.oldest()) {
      kept.push(...b.heartbeats.map((h) => h.seq));
      await spool.ack(b);
    }
    expect(spool.dropped + kept.length).toBe(400);
    expect(spool.dropped).toBeGreaterThan(0);
    // What survives is the newest, contiguous, in order.
    expect(kept).toEqual(hbs.slice(400 - kept.length).map((h) => h.seq));
  });

  it('drops segments older than maxAge and counts them', async () => {
    let now = 1_000_000;
    const spool = new Spool({ dir: tempDir(), maxBytes: 1 << 20, maxAgeMs: 60_000, segmentBytes: 4096, log, now: () => now });
    await spool.open();
    for (const hb of beats(5)) await spool.append(hb);
    now += 61_000;
    expect(await spool.oldest()).toBeUndefined();
    expect(spool.dropped).toBe(5);
  });

  it('survives a restart: a new process replays the old boot beats with their own boot id and seq', async () => {
    const dir = tempDir();
    const a = new Spool({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, segmentBytes: 8192, log });
    await a.open();
    const old = beats(10);
    for (const hb of old) await a.append(hb);
    await a.close();
    const b = new Spool({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, segmentBytes: 8192, log });
    await b.open();
    expect(b.count).toBe(10);
    const newer = beats(3);
    for (const hb of newer) await b.append(hb);
    const got: HeartbeatInput[] = [];
    for (let batch = await b.oldest(); batch; batch = await b.oldest()) {
      got.push(...batch.heartbeats);
      await b.ack(batch);
    }
    expect(got.map((h) => `${h.bootId}/${h.seq}`)).toEqual([...old, ...newer].map((h) => `${h.bootId}/${h.seq}`));
  });

  it('loses only the line cut short by a crash mid-write, and counts it once', async () => {
    const dir = tempDir();
    const a = new Spool({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, segmentBytes: 8192, log });
    await a.open();
    for (const hb of beats(3)) await a.append(hb);
    await a.close();
    appendFileSync(join(dir, readdirSync(dir)[0]!), '{"apiVersion":"podpulse.io/v1","sou');
    const b = new Spool({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, segmentBytes: 8192, log });
    await b.open();
    expect((await b.oldest())!.heartbeats).toHaveLength(3);
    expect((await b.oldest())!.heartbeats).toHaveLength(3);
    expect(b.dropped).toBe(1);
  });

  it('counts the beats of a refused batch as dropped', async () => {
    const spool = new Spool({ dir: tempDir(), maxBytes: 1 << 20, maxAgeMs: 3_600_000, segmentBytes: 8192, log });
    await spool.open();
    for (const hb of beats(4)) await spool.append(hb);
    await spool.drop((await spool.oldest())!);
    expect(spool.dropped).toBe(4);
    expect(spool.count).toBe(0);
  });
});
