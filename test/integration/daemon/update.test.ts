import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateReleaseKeyPair } from '../../../src/release/signing.ts';
import { CollectorDouble, type Json } from '../../helpers/collector-double.ts';
import { alive, daemonDir, startDaemon, testConfig, type DaemonRun } from '../../helpers/daemon-harness.ts';
import { fakeBundle, publishRelease, TRUSTED } from '../../helpers/release-fixture.ts';

let collector: CollectorDouble | undefined;
const daemons: DaemonRun[] = [];

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.kill();
  await collector?.close();
  collector = undefined;
});

function run(config: Record<string, unknown>, where = daemonDir()): DaemonRun {
  const d = startDaemon(config, where);
  daemons.push(d);
  return d;
}

const cfg = (release?: Record<string, string>): Record<string, unknown> => ({ apiVersion: 'podpulse.io/v1', revision: release ? `r-${release.version}` : 'r0', heartbeat: { interval: '1s' }, ...(release ? { release } : {}) });

function state(d: DaemonRun): Json {
  return JSON.parse(readFileSync(join(d.stateDir, 'state.json'), 'utf8')) as Json;
}

async function firstWorker(c: CollectorDouble): Promise<number> {
  return (await c.waitFor(() => c.workerBeats()[0], 30_000, 'a worker heartbeat')).body.pid as number;
}

describe('daemon hot update', () => {
  it('refuses a release with a wrong signature and keeps the old worker beating', async () => {
    collector = await new CollectorDouble().listen();
    const d = run(testConfig(collector.url, { release: TRUSTED }));
    const oldPid = await firstWorker(collector);
    const other = generateReleaseKeyPair();
    collector.config = cfg(publishRelease(collector, '1.1.0', fakeBundle('1.1.0'), { privateKeyPem: other.privateKeyPem }));
    const line = await d.waitLog((l) => l.msg === 'update refused; the old worker keeps running');
    expect(line.error).toMatch(/signature refused/);
    const failedAt = Date.now();
    const beat = await collector.waitFor(() => collector!.workerBeats().find((b) => b.at > failedAt + 1500 && b.body.pid === oldPid), 20_000, 'the old worker beating after the refusal');
    expect(beat.body.version).toBe('0.0.0-fake');
    expect(beat.body.agent.update).toMatchObject({ desired: '1.1.0', current: '0.0.0-fake', status: 'failed' });
    expect(state(d).bad['1.1.0'].error).toMatch(/signature/);
  });

  it('refuses a corrupt download whose sha256 does not match, a release URL that 404s, and one that hangs', async () => {
    collector = await new CollectorDouble().listen();
    const d = run(testConfig(collector.url, { release: TRUSTED }));
    const oldPid = await firstWorker(collector);
    const corrupt = publishRelease(collector, '1.1.0', fakeBundle('1.1.0'), { serve: Buffer.from('corrupt') });
    collector.config = cfg(corrupt);
    expect((await d.waitLog((l) => l.msg === 'update refused; the old worker keeps running' && l.release === '1.1.0')).error).toMatch(/sha256 mismatch/);
    const missing = publishRelease(collector, '1.2.0', fakeBundle('1.2.0'));
    collector.releases.delete('1.2.0');
    collector.config = cfg(missing);
    expect((await d.waitLog((l) => l.msg === 'update refused; the old worker keeps running' && l.release === '1.2.0')).error).toMatch(/HTTP 404/);
    const hanging = publishRelease(collector, '1.3.0', fakeBundle('1.3.0'));
    collector.hangReleases.add('1.3.0');
    collector.config = cfg(hanging);
    expect((await d.waitLog((l) => l.msg === 'update refused; the old worker keeps running' && l.release === '1.3.0', 30_000)).error).toMatch(/3000ms/);
    expect(alive(oldPid)).toBe(true);
    expect(Object.keys(state(d).bad as object).sort()).toEqual(['1.1.0', '1.2.0', '1.3.0']);
  });

  it('rolls back a release that never becomes ready, marks it bad and does not retry it', async () => {
    collector = await new CollectorDouble().listen();
    const d = run(testConfig(collector.url, { release: TRUSTED, worker: { readyDeadline: '2s' } }));
    const oldPid = await firstWorker(collector);
    collector.config = cfg(publishRelease(collector, '1.1.0', fakeBundle('1.1.0', 'never-ready.mjs')));
    const line = await d.waitLog((l) => l.msg === 'update rolled back; the old worker keeps running');
    expect(line.error).toMatch(/never said ready/);
    expect(state(d).bad['1.1.0']).toBeDefined();
    // Several config polls later (1 s each) the same build is still not retried, and the old worker still beats.
    const after = Date.now();
    const beat = await collector.waitFor(() => collector!.workerBeats().find((b) => b.at > after + 4000), 20_000, 'later beats');
    expect(beat.body.pid).toBe(oldPid);
    expect(beat.body.agent.update).toMatchObject({ desired: '1.1.0', status: 'rolled-back' });
    expect(d.logs.filter((l) => l.msg === 'updating the worker')).toHaveLength(1);
    // A different build of the same version is tried again.
    collector.config = cfg(publishRelease(collector, '1.1.0', fakeBundle('1.1.0')));
    await d.waitLog((l) => l.msg === 'worker updated', 30_000);
  });

  it('swaps to a good release without a heartbeat gap longer than one interval, stops the old worker, and keeps it across a restart', async () => {
    collector = await new CollectorDouble().listen();
    const where = daemonDir();
    const d = run(testConfig(collector.url, { release: TRUSTED }), where);
    const oldPid = await firstWorker(collector);
    await collector.waitFor(() => collector!.workerBeats().length >= 3, 20_000, 'a few beats');
    const since = Date.now();
    collector.config = cfg(publishRelease(collector, '1.1.0', fakeBundle('1.1.0')));
    const done = await d.waitLog((l) => l.msg === 'worker updated', 30_000);
    expect(done.swapMs).toBeLessThan(2000);
    const until = Date.now() + 3000;
    await collector.waitFor(() => Date.now() > until, 10_000);
    const beats = collector.workerBeats().filter((b) => b.at >= since - 1000);
    let maxGap = 0;
    for (let i = 1; i < beats.length; i++) maxGap = Math.max(maxGap, beats[i]!.at - beats[i - 1]!.at);
    // One interval is 1000 ms; 250 ms covers timer and scheduling slack on a loaded machine.
    expect(maxGap).toBeLessThanOrEqual(1250);
    expect(alive(oldPid)).toBe(false);
    expect(beats.at(-1)!.body.version).toBe('1.1.0');
    expect(state(d)).toMatchObject({ current: { version: '1.1.0' } });
    expect(state(d).pending).toBeUndefined();

    await d.kill();
    const since2 = Date.now();
    run(testConfig(collector.url, { release: TRUSTED }), where);
    const next = await collector.waitFor(() => collector!.workerBeats().find((b) => b.at > since2), 30_000, 'a beat after restart');
    expect(next.body.version).toBe('1.1.0');
  });

  it('ends on a consistent version when the daemon is killed in the middle of an update', async () => {
    collector = await new CollectorDouble().listen();
    const where = daemonDir();
    const d = run(testConfig(collector.url, { release: TRUSTED, worker: { readyDeadline: '30s' } }), where);
    const oldPid = await firstWorker(collector);
    collector.config = cfg(publishRelease(collector, '1.1.0', fakeBundle('1.1.0', 'never-ready.mjs')));
    await collector.waitFor(() => {
      try {
        return state(d).pending?.version === '1.1.0' && d.logs.some((l) => l.msg === 'updating the worker');
      } catch {
        return false;
      }
    }, 30_000, 'the update in flight');
    await new Promise((r) => setTimeout(r, 500));
    const candidates = (state(d).workerPids as number[]).filter((p) => p !== oldPid);
    await d.kill();
    // The next life runs the last proven (baked) worker at once, resumes the update from scratch, and rolls it back.
    const since = Date.now();
    const d2 = run(testConfig(collector.url, { release: TRUSTED, worker: { readyDeadline: '2s' } }), where);
    await d2.waitLog((l) => l.msg === 'the daemon restarted in the middle of an update; rolling back to the last proven worker');
    const beat = await collector.waitFor(() => collector!.workerBeats().find((b) => b.at > since), 30_000, 'a beat after restart');
    expect(beat.body.version).toBe('0.0.0-fake');
    await d2.waitLog((l) => l.msg === 'update rolled back; the old worker keeps running', 30_000);
    const s = state(d2);
    expect(s.pending).toBeUndefined();
    expect(s.current).toBeUndefined();
    expect(s.bad['1.1.0']).toBeDefined();
    expect(collector.workerBeats().filter((b) => b.at > since).every((b) => b.body.version === '0.0.0-fake')).toBe(true);
    await collector.waitFor(() => !alive(oldPid) && candidates.every((p) => !alive(p)), 10_000, 'the first life workers gone');
  });
});
