import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'vitest';
import { HeartbeatReceiver } from '../../helpers/heartbeat-receiver.ts';
import { startWorker, type WorkerProcess } from '../../helpers/worker-process.ts';

/**
 * A receiver and a worker beating to it, both stopped when the test ends. Concurrent tests must register the
 * cleanup on their own context: the global hook cannot tell which running test it belongs to.
 */
async function setUp(onTestFinished: TestContext['onTestFinished'], spool: Record<string, unknown>): Promise<{ r: HeartbeatReceiver; worker: WorkerProcess }> {
  const r = await HeartbeatReceiver.start();
  const worker = startWorker(config(r.url, spool));
  onTestFinished(async () => {
    await worker.cleanup();
    await r.stop();
  });
  return { r, worker };
}

function config(url: string, spool: Record<string, unknown>) {
  return (dir: string) => ({
    collector: { url, timeout: '3s' },
    spool: { dir: join(dir, 'spool'), ...spool },
    probe: {
      apiVersion: 'podpulse.io/v1',
      heartbeat: { interval: '1s' },
      checks: [{ id: 'home', kind: 'env', interval: '1s', timeout: '500ms', spec: { required: [{ name: 'HOME' }] } }],
    },
  });
}

// The two cases mostly wait (a minute-long outage each, one beat a second), so they run side by side.
describe.concurrent('worker heartbeats across a collector outage', () => {
  it('delivers every seq exactly once and in order after the collector was down for 60 s', async ({ expect, onTestFinished }) => {
    const { r } = await setUp(onTestFinished, {});
    await r.waitFor(() => r.unique().length >= 3, 30_000, 'first heartbeats');
    await r.stop();
    const lastBefore = Math.max(...r.unique().map((h) => h.seq));
    await sleep(60_000);
    await r.restart();
    // Beats built after the outage: once one arrives, everything before it has been replayed (order is kept).
    await r.waitFor(() => r.unique().some((h) => h.seq >= lastBefore + 65), 150_000, 'replay and live beats');
    const unique = r.unique();
    const seqs = unique.map((h) => h.seq);
    const max = Math.max(...seqs);
    expect(seqs).toEqual(Array.from({ length: max + 1 }, (_, i) => i));
    expect(new Set(unique.map((h) => h.bootId)).size).toBe(1);
    // A beat in flight at the moment the receiver stopped may be resent; nothing else is.
    expect(r.received.length - unique.length).toBeLessThanOrEqual(1);
    expect(unique.at(-1)!.dropped).toBe(0);
    expect(r.requests.some((q) => q.batch)).toBe(true);
  }, 300_000);

  it('keeps the spool under its byte cap while the collector is down and counts exactly what it lost in dropped', async ({ expect, onTestFinished }) => {
    const { r, worker } = await setUp(onTestFinished, { maxBytes: '8Ki', segmentBytes: '4Ki' });
    await r.waitFor(() => r.unique().length >= 2, 30_000, 'first heartbeats');
    await r.stop();
    const spoolDir = join(worker.dir, 'spool');
    let peak = 0;
    const until = Date.now() + 35_000;
    while (Date.now() < until) {
      let bytes = 0;
      for (const f of readdirSync(spoolDir)) {
        try {
          bytes += statSync(join(spoolDir, f)).size;
        } catch {
          // deleted between readdir and stat
        }
      }
      peak = Math.max(peak, bytes);
      await sleep(100);
    }
    expect(peak).toBeGreaterThan(4096);
    expect(peak).toBeLessThanOrEqual(8192);
    const lastBefore = Math.max(...r.unique().map((h) => h.seq));
    await r.restart();
    // Wait for live beats (single, not a replay batch): by then the spool is empty and no more can be lost, so a
    // beat built a little later carries the final count.
    const live = () => r.requests.find((q) => !q.batch && (q.heartbeats[0]?.seq ?? 0) > lastBefore + 5)?.heartbeats[0]?.seq;
    await r.waitFor(() => live() !== undefined, 150_000, 'live beats after the outage');
    await r.waitFor(() => r.unique().some((h) => h.seq >= live()! + 3), 30_000, 'three more live beats');
    const unique = r.unique();
    const max = Math.max(...unique.map((h) => h.seq));
    const newest = unique.find((h) => h.seq === max)!;
    const have = new Set(unique.map((h) => h.seq));
    const missing = Array.from({ length: max + 1 }, (_, i) => i).filter((s) => !have.has(s));
    expect(missing.length).toBeGreaterThan(0);
    expect(newest.dropped).toBe(missing.length);
    // Oldest dropped first: the loss is one run of seqs right after the last beat delivered before the outage.
    expect(missing[0]).toBe(lastBefore + 1);
    expect(missing.at(-1)! - missing[0]!).toBe(missing.length - 1);
  }, 300_000);
});
