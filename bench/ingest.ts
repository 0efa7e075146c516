// Ingest benchmark: sustained heartbeats/s and p99 for the collector on SQLite and on PostgreSQL, each beside a bare
// node:http server that parses the same JSON and answers 204, all measured in this run. The servers and the load
// generator (bench/load.ts, autocannon) are separate processes. `--smoke` runs a few seconds per target.
//
//   node bench/ingest.ts [--smoke] [--duration 15] [--connections 32] [--only sqlite|postgres] [--source]
//                        [--cpu-prof DIR] [--config FILE] [--bundle FILE]
//                        [--node-flags="--flag …"]
//
// --only measures one store (still between two bare runs); --source runs collector/main.ts instead of the bundle in
// dist/; --cpu-prof writes a V8 CPU profile of each collector run into DIR (open it in Chrome DevTools, or print its
// top self-time frames with `node bench/cpu-profile-top.ts FILE`); --config passes a collector config file (e.g. to
// compare limits.commitDelay settings); --bundle runs another collector bundle (an A/B against a saved build);
// --node-flags replaces the node flags the collector is deployed with (collector/node-flags.ts; empty: none).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { COLLECTOR_NODE_FLAGS } from '../collector/node-flags.ts';
import { CLK_TCK, cpuTicks } from './proc-stats.ts';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    'pg-url': { type: 'string' },
    only: { type: 'string' },
    source: { type: 'boolean' },
    'cpu-prof': { type: 'string' },
    config: { type: 'string' },
    bundle: { type: 'string' },
    'node-flags': { type: 'string' },
  },
});
if (values.only !== undefined && values.only !== 'sqlite' && values.only !== 'postgres') throw new Error(`--only: expected sqlite or postgres, got ${values.only}`);
const duration = Number(values.duration ?? (values.smoke ? 3 : 15));
const connections = Number(values.connections ?? 32);
const pgUrl = values['pg-url'] ?? process.env.PODPULSE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const root = fileURLToPath(new URL('..', import.meta.url));

interface Load { rps: number; total: number; p50: number; p99: number; max: number; non2xx: number; errors: number; timeouts: number }
/** A measured phase: the load generator's figures and the server's CPU (all its threads) per answered request. */
type Measured = Load & { cpuUsPerRequest: number };

function start(args: string[], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) resolve({ proc, url: m[1]! });
    });
    proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out}`)));
  });
}

async function stop(proc: ChildProcess): Promise<void> {
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await done;
}

function load(url: string, seconds: number): Promise<Load> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(root, 'bench/load.ts'), url, String(seconds), String(connections)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Load) : reject(new Error(`load exited ${code}`))));
  });
}

async function measure(name: string, args: string[], env: Record<string, string> = {}): Promise<Measured> {
  const s = await start(args, env);
  try {
    await load(s.url, 1); // warm-up: JIT, connection pools, SQLite pages
    const ticks = cpuTicks(s.proc.pid!);
    const r = await load(s.url, duration);
    // CPU per request does not depend on how fast this machine is today nor on the load generator's ceiling, which
    // bounds the bare server's rate: the ratio of the two says what a heartbeat costs the collector.
    const cpuUsPerRequest = ((cpuTicks(s.proc.pid!) - ticks) / CLK_TCK) * 1e6 / Math.max(1, r.total);
    console.log(`  ${name.padEnd(22)} ${Math.round(r.rps).toString().padStart(7)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  non-2xx ${r.non2xx}  errors ${r.errors}  server CPU ${cpuUsPerRequest.toFixed(0)} µs/request`);
    return { ...r, cpuUsPerRequest };
  } finally {
    await stop(s.proc);
  }
}

const profile = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [];
const nodeFlags = values['node-flags'] !== undefined ? values['node-flags'].split(' ').filter(Boolean) : [...COLLECTOR_NODE_FLAGS];
const collector = [...nodeFlags, ...profile, values.bundle ?? join(root, values.source ? 'collector/main.ts' : 'dist/collector.mjs'), '--insecure-no-auth', ...(values.config ? ['--config', values.config] : [])];
const quiet = { PODPULSE_LISTEN_HOST: '127.0.0.1', PODPULSE_LISTEN_PORT: '0', PODPULSE_LOG_LEVEL: 'info' };
const dir = mkdtempSync(join(tmpdir(), 'podpulse-bench-'));
console.log(`ingest benchmark: ${duration}s per target, ${connections} connections, one heartbeat per request, load from a separate process`);

const bare1 = await measure('bare node:http (204)', [join(root, 'bench/bare-server.ts')]);
const sqlite = values.only === 'postgres' ? undefined : await measure('collector + SQLite', collector, { ...quiet, PODPULSE_STORE_PATH: join(dir, 'bench.db') });

let postgres: Measured | undefined;
if (values.only !== 'sqlite') {
  const schema = `pp_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
    postgres = await measure('collector + PostgreSQL', collector, { ...quiet, PODPULSE_STORE_KIND: 'postgres', PODPULSE_STORE_URL: pgUrl, PODPULSE_STORE_SCHEMA: schema });
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } catch (err) {
    console.log(`  collector + PostgreSQL  skipped: ${(err as Error).message}`);
  } finally {
    await admin.end().catch(() => undefined);
  }
}
const bare2 = await measure('bare node:http (204)', [join(root, 'bench/bare-server.ts')]);
rmSync(dir, { recursive: true, force: true });

const bare = (bare1.rps + bare2.rps) / 2;
const bareCpu = (bare1.cpuUsPerRequest + bare2.cpuUsPerRequest) / 2;
const cpuRatio = (m: Measured) => `server CPU ${m.cpuUsPerRequest.toFixed(0)} µs/heartbeat = ${(m.cpuUsPerRequest / bareCpu).toFixed(1)}x bare's ${bareCpu.toFixed(0)} µs`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
console.log('');
console.log(`bare baseline (mean of before/after): ${Math.round(bare)} req/s`);
if (sqlite) {
  const sqliteRatio = sqlite.rps / bare;
  console.log(`SQLite:     ${Math.round(sqlite.rps)} heartbeats/s = ${sqliteRatio.toFixed(2)}x bare (bar >= 0.5), p99 ${sqlite.p99} ms (bar <= 25)  ${verdict(sqliteRatio >= 0.5 && sqlite.p99 <= 25 && sqlite.non2xx === 0)}`);
  console.log(`            ${cpuRatio(sqlite)}`);
}
if (postgres) {
  console.log(`PostgreSQL: ${Math.round(postgres.rps)} heartbeats/s = ${(postgres.rps / bare).toFixed(2)}x bare (bar >= 10000/s), p99 ${postgres.p99} ms  ${verdict(postgres.rps >= 10_000 && postgres.non2xx === 0)}`);
  console.log(`            ${cpuRatio(postgres)} (PostgreSQL's own CPU not included)`);
}
