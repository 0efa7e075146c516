import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectorDouble } from '../../helpers/collector-double.ts';
import { startDaemon, testConfig, WORKERS, type DaemonRun } from '../../helpers/daemon-harness.ts';

let collector: CollectorDouble | undefined;
let daemon: DaemonRun | undefined;

afterEach(async () => {
  await daemon?.kill();
  await collector?.close();
});

describe('daemon circuit breaker', () => {
  it('opens within 3 samples of a worker starting to leak, reports why, and goes half-open after the cooldown', async () => {
    collector = await new CollectorDouble().listen();
    collector.config = {
      apiVersion: 'podpulse.io/v1',
      revision: 'leak',
      heartbeat: { interval: '1s' },
      breaker: { sampleInterval: '500ms', workerRssMb: 64, cooldown: '2s', maxCooldown: '10s' },
    };
    daemon = startDaemon(testConfig(collector.url, { worker: { bakedPath: join(WORKERS, 'leaky.mjs') } }));
    const open = await daemon.waitLog((l) => l.msg === 'breaker open: worker killed', 60_000, 'a breaker trip');
    expect(open.reason).toMatch(/worker RSS .* over 64 MB/);
    expect(open.samples).toBeLessThanOrEqual(3);
    expect(open.cooldownMs).toBe(2000);
    const beat = await collector.waitFor(() => collector!.daemonBeats().find((b) => b.body.agent.breaker === 'open'), 20_000, 'a daemon beat with the breaker open');
    expect(beat.body.agent.breakerReason).toMatch(/RSS/);
    expect(beat.body.agent.worker).toBe('down');
    const half = await daemon.waitLog((l) => l.msg === 'breaker half-open: starting the worker again', 20_000);
    expect(Date.parse(half.time as string) - Date.parse(open.time as string)).toBeGreaterThanOrEqual(1900);
    // The leak starts again in the new worker: a repeat trip doubles the cooldown.
    const again = await daemon.waitLog((l) => l.msg === 'breaker open: worker killed' && l.trips === 2, 30_000, 'a second trip');
    expect(again.cooldownMs).toBe(4000);
    expect(again.samples).toBeLessThanOrEqual(3);
    expect(daemon.proc.exitCode).toBeNull();
  });
});
