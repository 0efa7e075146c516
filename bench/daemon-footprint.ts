// The sidecar pair (dist/daemon.mjs supervising dist/worker.mjs with the fourteen check kinds at 10 s) against a
// collector double: summed Pss (/proc/PID/smaps_rollup) of daemon + worker beside two idle Node processes measured
// in the same run, combined CPU (% of one core, utime+stime), the worker swap time after download, and the breaker's
// trip latency in samples for a leaking worker. `node bench/daemon-footprint.ts` (60 s) or `--smoke` (5 s). The daemon
// itself is started with the same allocator env and node flags it gives the worker (as the sidecar container should
// run it) unless `--bare`; PP_DAEMON_FLAGS replaces those node flags (an A/B against an older build's flags). Both
// run with a pod's downward-API identity env (bench/pod-env.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCheckTargets } from './check-targets.ts';
import { CLK_TCK, cpuTicks, median, memoryKb } from './proc-stats.ts';
import { CollectorDouble } from '../test/helpers/collector-double.ts';
import { daemonDir, ROOT, startDaemon, testConfig, WORKERS, type DaemonRun } from '../test/helpers/daemon-harness.ts';
import { publishRelease, TRUSTED } from '../test/helpers/release-fixture.ts';
import { WORKER_ENV, WORKER_NODE_FLAGS } from '../daemon/worker-footprint.ts';
import { POD_ENV } from './pod-env.ts';

const smoke = process.argv.includes('--smoke');
const bare = process.argv.includes('--bare');
const WINDOW_MS = smoke ? 5_000 : 60_000;
const WARMUP_MS = smoke ? 3_000 : 12_000;
const DAEMON_FLAGS = bare ? [] : process.env.PP_DAEMON_FLAGS !== undefined ? process.env.PP_DAEMON_FLAGS.split(' ').filter(Boolean) : WORKER_NODE_FLAGS;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

async function main(): Promise<void> {
  const collector = await new CollectorDouble().listen();
  const where = daemonDir();
  mkdirSync(where.stateDir, { recursive: true });
  const targets = await startCheckTargets(where.dir, collector.url);
  const checks = targets.checks;
  const agentConfig = { apiVersion: 'podpulse.io/v1', revision: 'bench-1', heartbeat: { interval: '10s' }, checks };
  collector.config = agentConfig;

  const runs: DaemonRun[] = [];
  const idle: ChildProcess[] = [0, 1].map(() => spawn(process.execPath, ['-e', 'setInterval(()=>{},1e3)'], { stdio: 'ignore' }));
  try {
    const d = startDaemon(
      testConfig(collector.url, {
        worker: { bakedPath: join(ROOT, 'dist/worker.mjs'), bakedVersion: VERSION, readyDeadline: '30s', updateGrace: '30s' },
        config: { pollInterval: '30s', default: agentConfig },
        health: { statusInterval: '5s' },
        release: TRUSTED,
      }),
      where,
      { PODPULSE_LOG_LEVEL: 'info', ...POD_ENV, ...(bare ? {} : WORKER_ENV) },
      DAEMON_FLAGS,
    );
    runs.push(d);
    const ready = await collector.waitFor(() => collector.workerBeats().find((b) => (b.body.checks as unknown[] | undefined)?.length === 14), 60_000, 'a worker beat with 14 checks');
    void ready;
    const status = JSON.parse(readFileSync(join(where.stateDir, 'status.json'), 'utf8')) as { workerPid: number };
    const pair = { daemon: d.proc.pid!, worker: status.workerPid };
    await sleep(WARMUP_MS);

    const pids = { ...pair, idleA: idle[0]!.pid!, idleB: idle[1]!.pid! };
    const startTicks = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuTicks(p)]));
    const pss: Record<string, number[]> = Object.fromEntries(Object.keys(pids).map((k) => [k, []]));
    const t0 = performance.now();
    while (performance.now() - t0 < WINDOW_MS) {
      await sleep(Math.min(5_000, WINDOW_MS / 5));
      try {
        for (const [k, p] of Object.entries(pids)) pss[k]!.push(memoryKb(p).pssKb);
      } catch (err) {
        console.log(d.logs.filter((l) => l.level === "warn" || l.level === "error").slice(-10));
        throw err;
      }
    }
    const secs = (performance.now() - t0) / 1000;
    const cpu = (k: keyof typeof pids): number => ((cpuTicks(pids[k]) - startTicks[k]!) / CLK_TCK / secs) * 100;
    const mb = (k: keyof typeof pids): number => median(pss[k]!) / 1024;
    const pairPss = mb('daemon') + mb('worker');
    const idlePss = mb('idleA') + mb('idleB');
    const pairCpu = cpu('daemon') + cpu('worker');
    console.log(`daemon + worker footprint over ${WINDOW_MS / 1000} s (after ${WARMUP_MS / 1000} s warm-up), node ${process.version}; daemon ${bare ? 'started bare' : `started with ${DAEMON_FLAGS.join(' ')} ${Object.entries(WORKER_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}`}`);
    console.log(`${'process'.padEnd(30)} ${'CPU %'.padStart(8)} ${'Pss MB'.padStart(8)}`);
    for (const k of Object.keys(pids) as (keyof typeof pids)[]) console.log(`${k.padEnd(30)} ${cpu(k).toFixed(3).padStart(8)} ${mb(k).toFixed(1).padStart(8)}`);
    console.log(`${'daemon + worker'.padEnd(30)} ${pairCpu.toFixed(3).padStart(8)} ${pairPss.toFixed(1).padStart(8)}`);
    console.log(`${'two idle node (baseline)'.padEnd(30)} ${(cpu('idleA') + cpu('idleB')).toFixed(3).padStart(8)} ${idlePss.toFixed(1).padStart(8)}`);
    const ratio = pairPss / idlePss;
    console.log(`bars: Pss ratio ${ratio.toFixed(2)} <= 1.25 -> ${ratio <= 1.25 ? 'met' : 'MISSED'}; CPU ${pairCpu.toFixed(3)} % <= 1 % -> ${pairCpu <= 1 ? 'met' : 'MISSED'}`);

    // Swap: the same bundle published as a signed release; the figure is candidate start to old worker stopped.
    const bundle = readFileSync(join(ROOT, 'dist/worker.mjs'));
    collector.config = { ...agentConfig, revision: 'bench-2', release: publishRelease(collector, '9.9.9', bundle) };
    const swapStart = Date.now();
    const updated = await d.waitLog((l) => l.msg === 'worker updated' || String(l.msg).startsWith('update '), 120_000, 'the update');
    if (updated.msg === 'worker updated') {
      const swapMs = updated.swapMs as number;
      console.log(`worker swap after download: ${swapMs} ms = ready ${String(updated.readyMs)} ms + first heartbeat delivered ${String(updated.firstBeatMs)} ms + old worker stopped ${String(updated.stopOldMs)} ms (config change to swapped: ${Date.now() - swapStart} ms); bar <= 2000 ms -> ${swapMs <= 2000 ? 'met' : 'MISSED'}`);
    } else console.log(`worker swap FAILED: ${String(updated.error)}`);
    await d.kill();

    // Breaker: a worker that leaks ~80 MB/s from ready; samples every second; RSS limit 64 MB.
    const leakCollector = await new CollectorDouble().listen();
    leakCollector.config = { apiVersion: 'podpulse.io/v1', revision: 'leak', heartbeat: { interval: '1s' }, breaker: { sampleInterval: '1s', workerRssMb: 64, cooldown: '30s' } };
    const leak = startDaemon(testConfig(leakCollector.url, { worker: { bakedPath: join(WORKERS, 'leaky.mjs') } }), daemonDir(), { PODPULSE_LOG_LEVEL: 'info' });
    runs.push(leak);
    const trip = await leak.waitLog((l) => l.msg === 'breaker open: worker killed', 60_000, 'a breaker trip');
    const samples = trip.samples as number;
    console.log(`breaker trip latency: ${samples} samples of 1 s (${String(trip.reason)}); bar <= 3 -> ${samples <= 3 ? 'met' : 'MISSED'}`);
    await leak.kill();
    await leakCollector.close();
  } finally {
    for (const r of runs) await r.kill();
    for (const c of idle) c.kill('SIGKILL');
    await collector.close();
    await targets.close();
  }
}

await main();
process.exit(0);
