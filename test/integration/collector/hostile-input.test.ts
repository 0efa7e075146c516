import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import { spawnCollector } from '../../helpers/collector-process.ts';
import { beat, failCheck } from '../../helpers/heartbeats.ts';

/** Resident memory of a process, from /proc (Linux). */
function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

type Json = unknown;

/** Sets or deletes a value at a random path inside a JSON document (a structural mutation of a valid heartbeat). */
function mutate(doc: Json, path: number[], value: Json, del: boolean): Json {
  if (doc === null || typeof doc !== 'object' || path.length === 0) return value;
  const copy: Record<string, unknown> = Array.isArray(doc) ? { ...(doc as unknown[]) } : { ...(doc as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return value;
  const key = keys[path[0]! % keys.length]!;
  if (path.length === 1 && del) delete copy[key];
  else copy[key] = mutate(copy[key], path.slice(1), value, del);
  return Array.isArray(doc) ? Object.values(copy) : copy;
}

const validBeat = fc.constantFrom(beat(), beat({ checks: [failCheck('dns-db')] }), beat({ source: 'daemon' }));
const mutatedBeat = fc.tuple(validBeat, fc.array(fc.nat(40), { minLength: 1, maxLength: 5 }), fc.jsonValue({ maxDepth: 3 }), fc.boolean())
  .map(([b, path, v, del]) => mutate(b, path, v, del));
const body = fc.oneof(
  { weight: 4, arbitrary: mutatedBeat.map((d) => JSON.stringify(d)) },
  { weight: 2, arbitrary: fc.array(mutatedBeat, { minLength: 0, maxLength: 5 }).map((hbs) => JSON.stringify({ apiVersion: 'podpulse.io/v1', heartbeats: hbs })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString('latin1')) },
);
const request = fc.record({
  body,
  contentType: fc.oneof(
    { weight: 16, arbitrary: fc.constant('application/json') },
    { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', '', 'application/x-www-form-urlencoded') },
  ),
  gzip: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  garbageEncoding: fc.oneof({ weight: 30, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('br', 'gzip, gzip') }),
});

describe('hostile input', () => {
  it('answers 10,000 random and mutated heartbeats and batches with 2xx/4xx only, stays up, and keeps memory flat', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podpulse-fuzz-'));
    const c = await spawnCollector(['--insecure-no-auth'], { PODPULSE_STORE_PATH: join(dir, 'db.sqlite'), PODPULSE_LOG_LEVEL: 'info' });
    const pool = new Pool(c.url, { connections: 8 });
    const statuses = new Map<number, number>();
    const send = async (r: { body: string; contentType: string; gzip: boolean; garbageEncoding: string | undefined }) => {
      const headers: Record<string, string> = {};
      if (r.contentType) headers['content-type'] = r.contentType;
      let payload: string | Buffer = r.body;
      if (r.gzip) {
        payload = gzipSync(r.body);
        headers['content-encoding'] = 'gzip';
      }
      if (r.garbageEncoding) headers['content-encoding'] = r.garbageEncoding;
      const res = await pool.request({ path: '/v1/heartbeats', method: 'POST', headers, body: payload });
      await res.body.dump();
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    };
    const samples = fc.sample(request, { numRuns: 11_000, seed: 20260105 });
    const run = async (batch: typeof samples) => {
      for (let i = 0; i < batch.length; i += 16) await Promise.all(batch.slice(i, i + 16).map(send));
    };
    try {
      await run(samples.slice(0, 1000)); // warm-up: JIT, pools, caches
      const before = rssBytes(c.proc.pid!);
      await run(samples.slice(1000));
      const after = rssBytes(c.proc.pid!);
      expect(c.proc.exitCode).toBeNull();
      const bad = [...statuses.keys()].filter((s) => !(s === 202 || (s >= 400 && s < 500)));
      expect(bad, `statuses: ${JSON.stringify([...statuses])}\n${c.output().split('\n').filter((l) => l.includes('"level":"error"')).slice(0, 3).join('\n')}`).toEqual([]);
      expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(11_000);
      // Most bodies are invalid: the point is that they were refused.
      expect((statuses.get(400) ?? 0) + (statuses.get(415) ?? 0)).toBeGreaterThan(5000);
      // Generous: flat means no growth with the number of requests, not a tight number on a shared machine.
      expect(after - before, `RSS ${before} → ${after}`).toBeLessThan(60 * 1024 * 1024);
      const health = await pool.request({ path: '/healthz', method: 'GET' });
      expect(health.statusCode).toBe(200);
      await health.body.dump();
    } finally {
      await pool.destroy();
      c.proc.kill('SIGTERM');
      await c.exited;
    }
  });
});
