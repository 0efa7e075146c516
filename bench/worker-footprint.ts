// The built worker running all fourteen check kinds at a 10 s interval against local targets: CPU (% of one
// core, from /proc/PID/stat utime+stime) and private memory (Pss_Anon and USS from /proc/PID/smaps_rollup),
// printed beside an idle `node -e "setInterval(()=>{},1e3)"` measured in the same run; plus the size of a
// heartbeat of fourteen ok checks. `node bench/worker-footprint.ts` (60 s) or `--smoke` (5 s). The worker gets the
// node flags and environment the daemon forks it with (daemon/worker-footprint.ts) unless `--bare`; PP_WORKER_FLAGS
// adds node flags and PP_WORKER_ENV adds environment variables (space-separated K=V) to the worker only.
// `--kinds=http,tcp,disk` runs only the checks of those kinds (a typical pod has 3-5); PP_WORKER_BUNDLE runs another
// build of the worker (a saved dist/worker.mjs) for a same-run A/B. The worker runs with a pod's identity env.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { startCheckTargets } from './check-targets.ts';
import { CLK_TCK, cpuTicks, median, memoryKb } from './proc-stats.ts';
import { instanceFromEnv } from '../src/agent/identity.ts';
import { CHECK_KINDS } from '../src/protocol/checks/check-config.ts';
import { HeartbeatBuilder } from '../worker/heartbeat-builder.ts';
import { HeartbeatReceiver } from '../test/helpers/heartbeat-receiver.ts';
import { WORKER_ENV, WORKER_NODE_FLAGS } from '../daemon/worker-footprint.ts';
import { POD_ENV } from './pod-env.ts';

const smoke = process.argv.includes('--smoke');
const bare = process.argv.includes('--bare');
const WINDOW_MS = smoke ? 5_000 : 60_000;
const WARMUP_MS = smoke ? 2_000 : 12_000;
const ROOT = resolve(import.meta.dirname, '..');
const KINDS = process.argv.find((a) => a.startsWith('--kinds='))?.slice('--kinds='.length).split(',');
const BUNDLE = process.env.PP_WORKER_BUNDLE ?? join(ROOT, 'dist/worker.mjs');

interface Figures { cpuPercent: number; pssAnonMb: number; ussMb: number; rssMb: number }

/** Samples both processes over the same window so machine noise hits them alike. */
async function measure(pids: Record<string, number>): Promise<Record<string, Figures>> {
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuTicks(pid)]));
  const t0 = performance.now();
  const mem: Record<string, Array<ReturnType<typeof memoryKb>>> = Object.fromEntries(Object.keys(pids).map((k) => [k, []]));
  while (performance.now() - t0 < WINDOW_MS) {
    await sleep(Math.min(5_000, WINDOW_MS / 5));
    for (const [k, pid] of Object.entries(pids)) mem[k]!.push(memoryKb(pid));
  }
  const secs = (performance.now() - t0) / 1000;
  return Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => {
      const m = mem[k]!;
      return [k, {
        cpuPercent: ((cpuTicks(pid) - start[k]!) / CLK_TCK / secs) * 100,
        pssAnonMb: median(m.map((x) => x.pssAnonKb)) / 1024,
        ussMb: median(m.map((x) => x.ussKb)) / 1024,
        rssMb: median(m.map((x) => x.rssKb)) / 1024,
      }];
    }),
  );
}

/** The worker's environment: the daemon's (unless --bare), then PP_WORKER_ENV="MALLOC_ARENA_MAX=2 K=V". */
function workerEnv(): Record<string, string> {
  const extra = (process.env.PP_WORKER_ENV ?? '').split(' ').filter(Boolean).map((kv): [string, string] => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]);
  return Object.fromEntries([...(bare ? [] : Object.entries(WORKER_ENV)), ...extra]);
}

/** The worker's node flags: the daemon's (unless --bare), then PP_WORKER_FLAGS. */
function workerFlags(): string[] {
  return [...(bare ? [] : WORKER_NODE_FLAGS), ...(process.env.PP_WORKER_FLAGS ?? '').split(' ').filter(Boolean)];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'podpulse-bench-'));
  const receiver = await HeartbeatReceiver.start();
  const targets = await startCheckTargets(dir, receiver.url);
  const checks = KINDS ? targets.checks.filter((c) => KINDS.includes(c.kind)) : targets.checks;
  const config = {
    collector: { url: receiver.url },
    spool: { dir: join(dir, 'spool') },
    log: { level: 'warn' },
    probe: { apiVersion: 'podpulse.io/v1', heartbeat: { interval: '10s' }, checks },
  };
  writeFileSync(join(dir, 'worker.yaml'), JSON.stringify(config));
  const children: ChildProcess[] = [
    spawn(process.execPath, [...workerFlags(), BUNDLE, '--config', join(dir, 'worker.yaml')], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...POD_ENV, ...workerEnv() } }),
    spawn(process.execPath, ['-e', 'setInterval(()=>{},1e3)'], { stdio: 'ignore' }),
  ];
  try {
    await sleep(WARMUP_MS);
    const figures = await measure({ worker: children[0]!.pid!, idle: children[1]!.pid! });
    const w = figures.worker!;
    const b = figures.idle!;
    const row = (name: string, f: Figures) => `${name.padEnd(34)} ${f.cpuPercent.toFixed(3).padStart(8)} ${f.pssAnonMb.toFixed(1).padStart(10)} ${f.ussMb.toFixed(1).padStart(8)} ${f.rssMb.toFixed(1).padStart(8)}`;
    console.log(`${BUNDLE}: worker footprint over ${WINDOW_MS / 1000} s (after ${WARMUP_MS / 1000} s warm-up), node ${process.version}`);
    console.log(`worker flags: ${workerFlags().join(' ') || '(none)'}; env: ${Object.entries(workerEnv()).map(([k, v]) => `${k}=${v}`).join(' ') || '(none)'}`);
    console.log(`${'process'.padEnd(34)} ${'CPU %'.padStart(8)} ${'Pss_Anon'.padStart(10)} ${'USS MB'.padStart(8)} ${'RSS MB'.padStart(8)}`);
    console.log(row(`worker (${KINDS ? KINDS.join(',') : '14 kinds'}, 10 s interval)`, w));
    console.log(row('idle node setInterval (baseline)', b));
    console.log(row('worker minus baseline', { cpuPercent: w.cpuPercent - b.cpuPercent, pssAnonMb: w.pssAnonMb - b.pssAnonMb, ussMb: w.ussMb - b.ussMb, rssMb: w.rssMb - b.rssMb }));
    console.log(`bars: CPU <= 0.5 % -> ${w.cpuPercent <= 0.5 ? 'met' : 'MISSED'}; private memory <= 15 MB -> Pss_Anon ${w.pssAnonMb <= 15 ? 'met' : 'MISSED'}, USS ${w.ussMb <= 15 ? 'met' : 'MISSED'}`);

    const last = receiver.received.at(-1)?.hb;
    const lastRequest = receiver.requests.filter((r) => !r.batch && r.heartbeats.length === 1).at(-1);
    if (last && lastRequest) {
      const statuses = last.checks.map((c) => `${c.id}:${c.status}${c.status === 'ok' ? '' : `(${c.code})`}`).join(' ');
      console.log(`last heartbeat: ${last.checks.length} checks, ${lastRequest.wireBytes} bytes on the wire (${lastRequest.headers['content-encoding'] ?? 'identity'}); ${statuses}`);
    }
    const builder = new HeartbeatBuilder({ instance: instanceFromEnv(POD_ENV).instance, version: '0.1.0', configRevision: 'a1b2c3d4' });
    const hb = builder.build({ checks: CHECK_KINDS.map((kind) => ({ id: kind, kind, status: 'ok', code: 'OK', latencyMs: 3 })), intervalMs: 10_000, dropped: 0 });
    const json = JSON.stringify(hb);
    console.log(`heartbeat of 14 ok checks (full pod identity): ${json.length} bytes JSON, ${gzipSync(json).length} bytes gzip (bar 1024 bytes of JSON: ${json.length <= 1024 ? 'met' : 'MISSED'})`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    await receiver.stop();
    await targets.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
