// Read API latency with a day of history: a fleet of 10,000 instances with 24 h of rollups and transitions is seeded
// into a SQLite file (bench/seed-history.ts), the built collector serves it, and a separate load process measures
// p99 of `/api/v1/instances` pages and `/api/v1/sla?window=24h` for one app, beside `/healthz` on the same server
// in the same run (the floor: HTTP and fastify, no store). Bar: p99 <= 50 ms. `--smoke` seeds 1,000 instances
// with 2 h and runs a second per target.
//
// Seeding the full size takes minutes: `--db FILE` keeps the seeded file and reuses it on the next run (its history
// then ends when it was seeded).
//
//   node build.mjs && node bench/read-api.ts [--smoke] [--duration 5] [--connections 4] [--db FILE]
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seedHistory } from './seed-history.ts';
import { COLLECTOR_NODE_FLAGS } from '../collector/node-flags.ts';

const { values } = parseArgs({ options: { smoke: { type: 'boolean' }, duration: { type: 'string' }, connections: { type: 'string' }, db: { type: 'string' } } });
const smoke = values.smoke ?? false;
const duration = Number(values.duration ?? (smoke ? 1 : 5));
const connections = Number(values.connections ?? 4);
const INSTANCES = smoke ? 1_000 : 10_000;
const HOURS = smoke ? 2 : 24;
const root = fileURLToPath(new URL('..', import.meta.url));

interface Load { rps: number; total: number; p50: number; p99: number; max: number; non2xx: number; errors: number }

function startCollector(dbPath: string): Promise<{ proc: ChildProcess; url: string }> {
  const env = { ...process.env, PODPULSE_LISTEN_HOST: '127.0.0.1', PODPULSE_LISTEN_PORT: '0', PODPULSE_LOG_LEVEL: 'info', PODPULSE_STORE_PATH: dbPath };
  const proc = spawn(process.execPath, [...COLLECTOR_NODE_FLAGS, join(root, 'dist/collector.mjs'), '--insecure-no-auth'], { cwd: root, env, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) resolve({ proc, url: m[1]! });
    });
    proc.once('exit', (code) => reject(new Error(`collector exited with ${code}: ${out}`)));
  });
}

function load(url: string, seconds: number, paths: string[]): Promise<Load> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(root, 'bench/get-load.ts'), url, String(seconds), String(connections), ...paths], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Load) : reject(new Error(`load exited ${code}`))));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'podpulse-bench-read-'));
const dbPath = values.db ?? join(dir, 'podpulse.db');
let t = performance.now();
if (values.db !== undefined && existsSync(dbPath)) {
  console.log(`read API benchmark${smoke ? ' (smoke)' : ''}: reusing the history seeded in ${dbPath}, ${connections} connections, ${duration} s per target`);
} else {
  const { rows } = seedHistory(dbPath, { instances: INSTANCES, hours: HOURS, apps: 50, nodes: 200, now: Date.now() });
  console.log(`read API benchmark${smoke ? ' (smoke)' : ''}: ${INSTANCES} instances, ${HOURS} h of history (${(rows / 1e6).toFixed(1)} M rows seeded in ${((performance.now() - t) / 1000).toFixed(1)} s), ${connections} connections, ${duration} s per target`);
}

const s = await startCollector(dbPath);
try {
  // Cursors of the first 20 pages, so the load walks real pages rather than the first one only.
  const pages = ['/api/v1/instances?limit=100'];
  let cursor: string | undefined;
  for (let i = 0; i < 19; i++) {
    const r = (await (await fetch(`${s.url}${pages[pages.length - 1]!}`)).json()) as { nextCursor?: string };
    cursor = r.nextCursor;
    if (!cursor) break;
    pages.push(`/api/v1/instances?limit=100&cursor=${cursor}`);
  }
  const targets: [string, string[]][] = [
    ['/healthz (baseline)', ['/healthz']],
    ['/api/v1/instances page', pages],
    ['/api/v1/instances?app&status', ['/api/v1/instances?app=app-7&status=healthy&limit=100', '/api/v1/instances?namespace=bench&node=node-42&limit=100']],
    ['/api/v1/sla 24h, one app', Array.from({ length: 10 }, (_, i) => `/api/v1/sla?app=app-${i * 5}&window=24h`)],
    ['/healthz (baseline)', ['/healthz']],
  ];
  const results: [string, Load][] = [];
  await load(s.url, 1, ['/healthz', pages[0]!, '/api/v1/sla?app=app-1&window=24h']); // warm-up: JIT, SQLite pages
  for (const [name, paths] of targets) {
    t = performance.now();
    const r = await load(s.url, duration, paths);
    results.push([name, r]);
    console.log(`  ${name.padEnd(30)} ${Math.round(r.rps).toString().padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  max ${r.max} ms  non-2xx ${r.non2xx}  errors ${r.errors}`);
  }
  const base = Math.max(results[0]![1].p99, results[4]![1].p99);
  console.log('');
  console.log(`baseline /healthz p99 (worse of before/after): ${base} ms`);
  for (const [name, r] of results.slice(1, 4)) {
    const ok = r.p99 <= 50 && r.non2xx === 0 && r.errors === 0;
    console.log(`${name.padEnd(30)} p99 ${r.p99} ms (bar <= 50 ms; +${(r.p99 - base).toFixed(1)} ms over /healthz)  ${ok ? 'PASS' : 'FAIL'}`);
  }
} finally {
  const done = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await done;
  rmSync(dir, { recursive: true, force: true });
}
