// Resident memory of the collector with a fleet heartbeating: 10,000 instances, each beating every 10 s (one
// heartbeat per request, from a separate process, bench/fleet-load.ts), on SQLite with the diagnosis running.
// Baseline: RSS of the same collector idle, before the fleet, in the same run. Bar: <= 200 MB. `--smoke` runs
// 1,000 instances for a few seconds.
//
// The collector runs as the image and the Deployment run it: with the node flags of collector/node-flags.ts and a
// V8 code cache made beforehand by one `--check-config` run (NODE_COMPILE_CACHE); `--cold` runs it without the
// cache. `--collector FILE` measures another build of the collector (an A/B of a change).
//
//   node build.mjs && node bench/collector-memory.ts [--smoke] [--seconds 45] [--cold] [--collector dist/collector.mjs]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { memoryKb } from './proc-stats.ts';
import { COLLECTOR_NODE_FLAGS } from '../collector/node-flags.ts';

/** RSS split as the kernel counts it: anonymous (heaps, stacks) and file-backed (the mmap'd SQLite file, code). */
function rssSplitKb(pid: number): { anon: number; file: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}

const { values } = parseArgs({ options: { smoke: { type: 'boolean' }, seconds: { type: 'string' }, collector: { type: 'string' }, cold: { type: 'boolean' } } });
const smoke = values.smoke ?? false;
const INSTANCES = smoke ? 1_000 : 10_000;
const INTERVAL_MS = smoke ? 2_000 : 10_000;
// Several intervals: every instance registered, its diagnosis state built, the store's caches warm.
const SECONDS = Number(values.seconds ?? (smoke ? 5 : 45));
const root = fileURLToPath(new URL('..', import.meta.url));

const bundle = values.collector ?? join(root, 'dist/collector.mjs');

/** A code cache for the bundle, made as the Dockerfile makes the image's; undefined with --cold. */
function compileCache(dir: string): string | undefined {
  if (values.cold) return undefined;
  const cache = join(dir, 'compile-cache');
  execFileSync(process.execPath, [...COLLECTOR_NODE_FLAGS, bundle, '--check-config'], { cwd: root, env: { ...process.env, NODE_COMPILE_CACHE: cache }, stdio: 'ignore' });
  return cache;
}

function startCollector(dbPath: string, cache: string | undefined): Promise<{ proc: ChildProcess; url: string }> {
  const env = { ...process.env, PODPULSE_LISTEN_HOST: '127.0.0.1', PODPULSE_LISTEN_PORT: '0', PODPULSE_LOG_LEVEL: 'info', PODPULSE_STORE_PATH: dbPath, ...(cache ? { NODE_COMPILE_CACHE: cache } : {}) };
  const proc = spawn(process.execPath, [...COLLECTOR_NODE_FLAGS, bundle, '--insecure-no-auth'], { cwd: root, env, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        proc.stdout.off('data', onData);
        proc.stdout.resume();
        resolve({ proc, url: m[1]! });
      }
    };
    proc.stdout.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`collector exited with ${code}: ${out}`)));
  });
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
const dir = mkdtempSync(join(tmpdir(), 'podpulse-bench-mem-'));
const cache = compileCache(dir);
const s = await startCollector(join(dir, 'podpulse.db'), cache);
const pid = s.proc.pid!;
try {
  await new Promise((r) => setTimeout(r, 3000));
  const idle = memoryKb(pid).rssKb;
  const idleSplit = rssSplitKb(pid);
  console.log(`collector memory benchmark${smoke ? ' (smoke)' : ''}: ${INSTANCES} instances beating every ${INTERVAL_MS / 1000} s for ${SECONDS} s, SQLite, diagnosis on, node ${[...COLLECTOR_NODE_FLAGS].join(' ')}, ${cache ? 'warm code cache' : 'no code cache (--cold)'}`);
  console.log(`  idle collector RSS (baseline)  ${mb(idle)} (anonymous ${mb(idleSplit.anon)}, file-backed ${mb(idleSplit.file)})`);
  const load = spawn(process.execPath, [join(root, 'bench/fleet-load.ts'), s.url, String(INSTANCES), String(INTERVAL_MS), String(SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  load.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const done = new Promise<number | null>((r) => load.once('exit', r));
  let peak = 0;
  const samples: number[] = [];
  const sampler = setInterval(() => {
    const rss = memoryKb(pid).rssKb;
    samples.push(rss);
    peak = Math.max(peak, rss);
  }, 500);
  const code = await done;
  clearInterval(sampler);
  if (code !== 0) throw new Error(`fleet load exited with ${code}`);
  const r = JSON.parse(out) as { sent: number; non2xx: number; errors: number; seconds: number };
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  const tracked = /^podpulse_diagnosis_instances (\d+)/m.exec(metrics)?.[1] ?? '?';
  const final = memoryKb(pid).rssKb;
  peak = Math.max(peak, final);
  const split = rssSplitKb(pid);
  const gauge = (name: string, label = ''): string => mb(Number(new RegExp(`^podpulse_collector_${name}${label.replace(/[{}"]/g, '\\$&')} (\\S+)`, 'm').exec(metrics)?.[1] ?? NaN) / 1024);
  console.log(`  heartbeats sent                ${r.sent} (${Math.round(r.sent / r.seconds)}/s), non-2xx ${r.non2xx}, errors ${r.errors}; instances in the diagnosis: ${tracked}`);
  console.log(`  RSS with the fleet active      peak ${mb(peak)}, at the end ${mb(final)} (+${mb(peak - idle)} over idle)`);
  // Whether it levels off: RSS at each fifth of the run.
  const fifths = [1, 2, 3, 4, 5].map((k) => mb(samples[Math.max(0, Math.ceil((samples.length * k) / 5) - 1)] ?? NaN));
  console.log(`  RSS over the run, by fifths    ${fifths.join(', ')}`);
  console.log(`  at the end, by kind            anonymous ${mb(split.anon)}, file-backed ${mb(split.file)} (code, mapped files)`);
  console.log(`  V8 heap at the end             used ${gauge('nodejs_heap_size_used_bytes')} of ${gauge('nodejs_heap_size_total_bytes')} (new space ${gauge('nodejs_heap_space_size_total_bytes', '{space="new"}')}, old space ${gauge('nodejs_heap_space_size_total_bytes', '{space="old"}')}), external ${gauge('nodejs_external_memory_bytes')}`);
  console.log(`peak RSS ${mb(peak)} with ${INSTANCES} active instances (bar <= 200 MB; idle ${mb(idle)})  ${peak <= 200 * 1024 && r.non2xx === 0 ? 'PASS' : 'FAIL'}`);
} finally {
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
}
