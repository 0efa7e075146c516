import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import type { Heartbeat } from '../../../src/protocol/heartbeat.ts';
import { spawnCollector } from '../../helpers/collector-process.ts';
import { beat } from '../../helpers/heartbeats.ts';

describe('durability across kill -9', () => {
  it('keeps every heartbeat that received a 2xx when the collector is killed during sustained ingest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podpulse-kill-'));
    const env = { PODPULSE_STORE_PATH: join(dir, 'data', 'podpulse.db'), PODPULSE_LOG_LEVEL: 'info' };
    const first = await spawnCollector(['--insecure-no-auth'], env);
    const pool = new Pool(first.url, { connections: 16 });
    const acked: Heartbeat[] = [];
    let stop = false;
    const pods = Array.from({ length: 200 }, () => randomUUID());
    const sender = async (w: number) => {
      for (let seq = 0; !stop; seq++) {
        const hb = beat({ podUid: pods[(w * 7 + seq) % pods.length]!, pod: `web-${w}`, bootId: randomUUID(), seq });
        try {
          const res = await pool.request({ path: '/v1/heartbeats', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hb) });
          await res.body.dump();
          if (res.statusCode >= 200 && res.statusCode < 300) acked.push(hb);
        } catch {
          // The kill: connections reset mid-request. Those heartbeats got no 2xx, so nothing is owed for them.
          if (stop) return;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    };
    const senders = Array.from({ length: 32 }, (_, w) => sender(w));
    // Kill once a good amount has been acknowledged, while requests are still in flight.
    const t0 = Date.now();
    while (acked.length < 3000 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
    first.proc.kill('SIGKILL');
    await first.exited;
    stop = true;
    await Promise.all(senders);
    await pool.destroy();
    expect(acked.length).toBeGreaterThanOrEqual(3000);

    // Restart on the same file and post every acknowledged heartbeat again: each must come back as a duplicate.
    const second = await spawnCollector(['--insecure-no-auth'], env);
    const pool2 = new Pool(second.url, { connections: 4 });
    let duplicates = 0;
    let accepted = 0;
    for (let i = 0; i < acked.length; i += 1000) {
      const body = JSON.stringify({ apiVersion: 'podpulse.io/v1', heartbeats: acked.slice(i, i + 1000) });
      const res = await pool2.request({ path: '/v1/heartbeats', method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.statusCode).toBe(202);
      const ack = (await res.body.json()) as { accepted: number; duplicates: number };
      duplicates += ack.duplicates;
      accepted += ack.accepted;
    }
    await pool2.destroy();
    second.proc.kill('SIGTERM');
    await second.exited;
    expect({ accepted, duplicates }).toEqual({ accepted: 0, duplicates: acked.length });
  });
});
