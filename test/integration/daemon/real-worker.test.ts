import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseHeartbeatPayload } from '../../../src/protocol/parse.ts';
import { CollectorDouble, type Json } from '../../helpers/collector-double.ts';
import { WORKER_NODE_FLAGS } from '../../../daemon/worker-footprint.ts';
import { alive, ROOT, startDaemon, testConfig, WORKERS, type DaemonRun } from '../../helpers/daemon-harness.ts';

const pkgVersion = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let collector: CollectorDouble | undefined;
let daemon: DaemonRun | undefined;

afterEach(async () => {
  await daemon?.kill();
  await collector?.close();
});

describe('daemon with the real worker (dist/worker.mjs)', () => {
  it('supervises the built worker: valid heartbeats carrying the daemon state, then a clean stop on SIGTERM', async () => {
    collector = await new CollectorDouble().listen();
    collector.config = {
      apiVersion: 'podpulse.io/v1',
      revision: 'real-1',
      heartbeat: { interval: '1s' },
      checks: [{ id: 'self-tcp', kind: 'tcp', spec: { host: '127.0.0.1', port: Number(new URL(collector.url).port) } }],
    };
    daemon = startDaemon(testConfig(collector.url, { worker: { bakedPath: join(ROOT, 'dist/worker.mjs'), bakedVersion: pkgVersion, readyDeadline: '20s' } }));
    const beat = await collector.waitFor(() => collector!.workerBeats().find((b) => b.body.agent?.configRevision === 'real-1' && b.body.checks?.length > 0), 60_000, 'a worker heartbeat on the collector config');
    const parsed = parseHeartbeatPayload(beat.body);
    if (!parsed.ok) throw parsed.error;
    // On the wire the normal states are left out; parsed, they are there.
    expect(parsed.value.heartbeats[0]!.agent).toMatchObject({ breaker: 'closed', worker: 'running', workerVersion: pkgVersion });
    const status = JSON.parse(readFileSync(join(daemon.stateDir, 'status.json'), 'utf8')) as Json;
    const workerPid = status.workerPid as number;
    expect(alive(workerPid)).toBe(true);

    // The footprint settings reach the worker process: allocator env and node flags (docs/worker-footprint.md).
    const environ = readFileSync(`/proc/${workerPid}/environ`, 'utf8').split('\0');
    expect(environ).toContain('MALLOC_ARENA_MAX=1');
    expect(environ).toContain('MALLOC_TRIM_THRESHOLD_=131072');
    const argv = readFileSync(`/proc/${workerPid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const entry = argv.findIndex((a) => a.endsWith('worker.mjs'));
    expect(argv.slice(1, entry)).toEqual(WORKER_NODE_FLAGS);
    daemon.proc.kill('SIGTERM');
    expect((await daemon.exit).code).toBe(0);
    expect(alive(workerPid)).toBe(false);
  });

  it('forks the worker with the node flags and environment of its local config, not its own', async () => {
    collector = await new CollectorDouble().listen();
    daemon = startDaemon(
      testConfig(collector.url, { worker: { bakedPath: join(WORKERS, 'good.mjs'), nodeFlags: ['--max-old-space-size=48'], env: { MALLOC_ARENA_MAX: '2', PODPULSE_TEST_MARK: 'x', MALLOC_TRIM_THRESHOLD_: '' } } }),
      undefined,
      { MALLOC_TRIM_THRESHOLD_: '999' },
    );
    await collector.waitFor(() => collector!.workerBeats().length > 0, 30_000, 'a worker beat');
    const d = daemon;
    const pid = await collector.waitFor(() => {
      try {
        return (JSON.parse(readFileSync(join(d.stateDir, 'status.json'), 'utf8')) as Json).workerPid as number | undefined;
      } catch {
        return undefined;
      }
    }, 10_000, 'the worker pid in the status file');
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain('MALLOC_ARENA_MAX=2');
    expect(environ).toContain('PODPULSE_TEST_MARK=x');
    // "" removes a variable, even one the daemon itself has.
    expect(environ.some((e) => e.startsWith('MALLOC_TRIM_THRESHOLD_='))).toBe(false);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(argv.slice(1, 2)).toEqual(['--max-old-space-size=48']);
    expect(argv[2]).toMatch(/good\.mjs$/);
  });
});
