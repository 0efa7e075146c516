import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectorDouble, type Json } from '../../helpers/collector-double.ts';
import { ROOT, startDaemon, testConfig, type DaemonRun } from '../../helpers/daemon-harness.ts';

let collector: CollectorDouble | undefined;
let daemon: DaemonRun | undefined;

afterEach(async () => {
  await daemon?.kill();
  await collector?.close();
  daemon = undefined;
  collector = undefined;
});

const MiB = 1024 * 1024;

/** A writable copy of test/fixtures/cgroup/<version>, so a test can move usage and limits under the daemon. */
function cgroupTree(version: 'v1' | 'v2'): string {
  const root = join(mkdtempSync(join(tmpdir(), `podpulse-cgroup-${version}-`)), 'cgroup');
  cpSync(join(ROOT, 'test/fixtures/cgroup', version), root, { recursive: true });
  return root;
}

/** The monitor's latest figures from the status file, once `pred` holds for them. */
async function figures(d: DaemonRun, pred: (f: Json) => boolean, what: string): Promise<Json> {
  return collector!.waitFor(() => {
    try {
      const f = (JSON.parse(readFileSync(join(d.stateDir, 'status.json'), 'utf8')) as Json).figures as Json | undefined;
      return f && pred(f) ? f : undefined;
    } catch {
      return undefined;
    }
  }, 20_000, what);
}

async function start(cgroupRoot: string): Promise<DaemonRun> {
  collector = await new CollectorDouble().listen();
  collector.config = {
    apiVersion: 'podpulse.io/v1',
    revision: 'cg',
    heartbeat: { interval: '1s' },
    breaker: { sampleInterval: '300ms', containerMemoryRatio: 0.9, cpuSamples: 2, cooldown: '3s', maxCooldown: '10s' },
  };
  daemon = startDaemon(testConfig(collector.url, { cgroupRoot }));
  return daemon;
}

describe('daemon breaker on the container cgroup (fixture trees)', () => {
  it('cgroup v2: reads the quota and memory ratio, trips over the ratio, reports it, and closes again once memory is back', async () => {
    const root = cgroupTree('v2');
    writeFileSync(join(root, 'cpu.max'), '50000 100000\n');
    const d = await start(root);
    // The fixture: 100 MiB of a 512 MiB limit, half a core.
    const f = await figures(d, (x) => x.containerMemoryRatio !== undefined && x.workerPid !== undefined, 'v2 figures');
    expect(f.containerMemoryRatio).toBeCloseTo(100 / 512, 5);
    expect(f.cpuQuotaCores).toBe(0.5);
    expect(d.logs.some((l) => String(l.msg).startsWith('breaker open'))).toBe(false);

    writeFileSync(join(root, 'memory.current'), `${510 * MiB}\n`);
    const open = await d.waitLog((l) => l.msg === 'breaker open: worker killed', 20_000, 'a breaker trip');
    expect(open.reason).toBe('container memory at 99.6% of its limit, over 90%');
    // Memory is back before the 3 s cooldown ends, so the half-open worker stays within the limits.
    writeFileSync(join(root, 'memory.current'), `${100 * MiB}\n`);
    const beat = await collector!.waitFor(() => collector!.daemonBeats().find((b) => b.body.agent.breaker === 'open'), 20_000, 'a daemon beat with the breaker open');
    expect(beat.body.agent).toMatchObject({ worker: 'down', breakerReason: 'container memory at 99.6% of its limit, over 90%' });
    await d.waitLog((l) => l.msg === 'breaker half-open: starting the worker again', 20_000, 'half-open');
    await d.waitLog((l) => l.msg === 'breaker closed: the worker stayed within its limits', 20_000, 'closed again');
    expect(d.logs.filter((l) => l.msg === 'breaker open: worker killed')).toHaveLength(1);
  });

  it('cgroup v1: an unlimited memory limit never trips; a limit lowered under the usage does', async () => {
    const root = cgroupTree('v1');
    // As on a v1 host, cpu is a link to the joint cpu,cpuacct hierarchy.
    symlinkSync('cpu,cpuacct', join(root, 'cpu'));
    writeFileSync(join(root, 'cpu,cpuacct', 'cpu.cfs_quota_us'), '200000\n');
    writeFileSync(join(root, 'cpu,cpuacct', 'cpu.cfs_period_us'), '100000\n');
    const d = await start(root);
    // The fixture's limit is 9223372036854771712 (unlimited): there is no ratio to judge.
    const f = await figures(d, (x) => x.cpuQuotaCores !== undefined && x.workerPid !== undefined, 'v1 figures');
    expect(f.cpuQuotaCores).toBe(2);
    expect(f.containerMemoryRatio).toBeUndefined();

    // 100 MiB used of a 105 MiB limit: 95.2 %.
    writeFileSync(join(root, 'memory', 'memory.limit_in_bytes'), `${105 * MiB}\n`);
    const open = await d.waitLog((l) => l.msg === 'breaker open: worker killed', 20_000, 'a breaker trip');
    expect(open.reason).toBe('container memory at 95.2% of its limit, over 90%');
    const after = await figures(d, (x) => x.containerMemoryRatio !== undefined, 'the v1 ratio');
    expect(after.containerMemoryRatio).toBeCloseTo(100 / 105, 5);
  });
});
