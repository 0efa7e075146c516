import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseHeartbeatPayload } from '../../../src/protocol/parse.ts';
import { CollectorDouble } from '../../helpers/collector-double.ts';
import { alive, startDaemon, testConfig, WORKERS, type DaemonRun } from '../../helpers/daemon-harness.ts';

let collector: CollectorDouble | undefined;
let daemon: DaemonRun | undefined;

afterEach(async () => {
  await daemon?.kill();
  await collector?.close();
  daemon = undefined;
  collector = undefined;
});

describe('daemon supervision', () => {
  it('restarts a worker killed with SIGKILL within the first backoff delay', async () => {
    collector = await new CollectorDouble().listen();
    daemon = startDaemon(testConfig(collector.url));
    const first = await collector.waitFor(() => collector!.workerBeats()[0], 30_000, 'a worker heartbeat');
    const pid = first.body.pid as number;
    // The kernel is told to pick the worker first under memory pressure.
    expect(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim()).toBe('1000');
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const next = await collector.waitFor(() => collector!.workerBeats().find((b) => b.body.pid !== pid && b.at > killedAt), 20_000, 'a beat from a new worker');
    const restart = await daemon.waitLog((l) => l.msg === 'restarting the worker after backoff');
    expect(restart.failures).toBe(1);
    expect(restart.delayMs).toBeLessThanOrEqual(240);
    // The restart itself: backoff (≤ 240 ms) plus a node start, generous for a loaded machine.
    expect(next.at - killedAt).toBeLessThan(10_000);
  });

  it('backs off with growing delays and reports crashloop in daemon heartbeats when the worker exits at once every time', async () => {
    collector = await new CollectorDouble().listen();
    daemon = startDaemon(testConfig(collector.url, { worker: { bakedPath: join(WORKERS, 'exits-at-once.mjs') } }));
    const beat = await collector.waitFor(() => collector!.daemonBeats().find((b) => b.body.agent.worker === 'crashloop'), 40_000, 'a crashloop daemon heartbeat');
    expect(beat.body.checks).toEqual([]);
    const parsed = parseHeartbeatPayload(beat.body);
    expect(parsed.ok ? 'valid' : parsed.error.message).toBe('valid');
    expect(beat.body.agent.breaker).toBe('closed');
    const delays = daemon.logs.filter((l) => l.msg === 'restarting the worker after backoff').map((l) => l.delayMs as number);
    expect(delays.length).toBeGreaterThanOrEqual(4);
    // 200 ms doubling with ±20 % jitter: the ranges of successive attempts do not overlap until the 2 s cap.
    for (let i = 1; i < 4; i++) expect(delays[i]!).toBeGreaterThan(delays[i - 1]!);
    expect(daemon.logs.some((l) => l.msg === 'worker is crash-looping; restarts go on with backoff')).toBe(true);
    expect(daemon.proc.exitCode).toBeNull();
  });

  it('counts a worker that never says ready as failed and kills it after the ready deadline', async () => {
    collector = await new CollectorDouble().listen();
    daemon = startDaemon(testConfig(collector.url, { worker: { bakedPath: join(WORKERS, 'never-ready.mjs'), readyDeadline: '1s' } }));
    const line = await daemon.waitLog((l) => l.msg === 'worker never said ready within the deadline; killing it');
    await daemon.waitLog((l) => l.msg === 'restarting the worker after backoff' && l.failures === 1);
    expect(alive(line.workerPid as number)).toBe(false);
    const beat = await collector.waitFor(() => collector!.daemonBeats()[0], 20_000, 'a daemon heartbeat');
    expect(['starting', 'down', 'crashloop']).toContain(beat.body.agent.worker);
  });

  it('flushes the worker and leaves no process behind within the grace on SIGTERM, exiting 0', async () => {
    collector = await new CollectorDouble().listen();
    daemon = startDaemon(testConfig(collector.url, { worker: { stopGrace: '4s' } }));
    const beat = await collector.waitFor(() => collector!.workerBeats()[0], 30_000, 'a worker heartbeat');
    const workerPid = beat.body.pid as number;
    const sentAt = Date.now();
    daemon.proc.kill('SIGTERM');
    const exit = await daemon.exit;
    expect(exit.code).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(4_000 + 2_000);
    expect(existsSync(join(daemon.stateDir, 'spool', `flushed-${workerPid}`))).toBe(true);
    expect(alive(workerPid)).toBe(false);
  });

  it('kills a worker that ignores stop with SIGKILL to its group at the grace', async () => {
    collector = await new CollectorDouble().listen();
    // stubborn.mjs ignores IPC stop and traps SIGTERM: only the SIGKILL at the grace ends it.
    daemon = startDaemon(testConfig(collector.url, { worker: { bakedPath: join(WORKERS, 'stubborn.mjs'), stopGrace: '2s' } }));
    const beat = await collector.waitFor(() => collector!.workerBeats()[0], 30_000, 'a worker heartbeat');
    const workerPid = beat.body.pid as number;
    const sentAt = Date.now();
    daemon.proc.kill('SIGTERM');
    expect((await daemon.exit).code).toBe(0);
    const took = Date.now() - sentAt;
    expect(took).toBeGreaterThanOrEqual(1_900);
    expect(took).toBeLessThan(2_000 + 3_000);
    expect(alive(workerPid)).toBe(false);
  });

  it('exits with its distinct code 86, after stopping the worker, when it goes over its own memory limit', async () => {
    collector = await new CollectorDouble().listen();
    collector.config = { apiVersion: 'podpulse.io/v1', revision: 'self', heartbeat: { interval: '1s' }, breaker: { sampleInterval: '500ms' } };
    daemon = startDaemon(testConfig(collector.url, { self: { maxRssMb: 16 } }));
    const line = await daemon.waitLog((l) => l.msg === 'daemon over its own limits; exiting so the kubelet restarts the sidecar', 30_000);
    expect(line.reason).toMatch(/daemon RSS .* over its limit of 16 MB/);
    expect((await daemon.exit).code).toBe(86);
    const pids = collector.workerBeats().map((b) => b.body.pid as number);
    for (const pid of new Set(pids)) expect(alive(pid)).toBe(false);
  });
});
