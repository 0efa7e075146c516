import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseHeartbeatPayload } from '../../../src/protocol/parse.ts';
import type { Heartbeat } from '../../../src/protocol/heartbeat.ts';
import { CollectorDouble, type Json, type ReceivedBeat } from '../../helpers/collector-double.ts';
import { ROOT, startDaemon, testConfig, WORKERS, type DaemonRun } from '../../helpers/daemon-harness.ts';

let collector: CollectorDouble | undefined;
let daemon: DaemonRun | undefined;

afterEach(async () => {
  await daemon?.kill();
  await collector?.close();
  collector = undefined;
});

const good = (revision: string) => ({ apiVersion: 'podpulse.io/v1', revision, heartbeat: { interval: '1s' }, checks: [{ id: 'home', kind: 'env', spec: { required: [{ name: 'HOME' }] } }] });
/** Invalid twice over: the brief names the first violation and counts the rest. */
const bad = (revision: string) => ({
  ...good(revision),
  checks: [{ id: 'slow', kind: 'env', interval: '10s', timeout: '15s', spec: { required: [{ name: 'HOME' }] } }],
  heartbeat: { interval: 'soon' },
});

/** A received beat, parsed by the protocol (the collector's view). */
function parsed(b: ReceivedBeat): Heartbeat {
  const r = parseHeartbeatPayload(b.body);
  if (!r.ok) throw r.error;
  return r.value.heartbeats[0]!;
}

function after(since: number, source: 'worker' | 'daemon', pred: (hb: Heartbeat) => boolean): Heartbeat | undefined {
  for (const b of collector!.beats) {
    if (b.at <= since || b.body.source !== source) continue;
    const hb = parsed(b);
    if (pred(hb)) return hb;
  }
  return undefined;
}

describe('a refused config is visible to the collector (agent.configError)', () => {
  it('is carried by the worker heartbeats while the newest config is refused, and cleared by the next good one', async () => {
    collector = await new CollectorDouble().listen();
    collector.config = good('good-1');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    daemon = startDaemon(testConfig(collector.url, { worker: { bakedPath: join(ROOT, 'dist/worker.mjs'), bakedVersion: pkg.version, readyDeadline: '20s' } }));
    const c = collector;
    await c.waitFor(() => after(0, 'worker', (hb) => hb.agent.configRevision === 'good-1'), 60_000, 'a worker beat on good-1');

    c.config = bad('bad-2');
    let since = Date.now();
    const refused = await c.waitFor(() => after(since, 'worker', (hb) => hb.agent.configError !== undefined), 30_000, 'a worker beat with configError');
    expect(refused.agent.configRevision).toBe('good-1');
    expect(refused.agent.configError).toMatch(/^PODPULSE_ERR_CONFIG_INVALID (heartbeat\.interval|checks\[slow\]\.(timeout|interval)): .+ \(\+1 more\)$/);
    expect(refused.agent.configError!.length).toBeLessThanOrEqual(256);
    // The status file (refreshed every 500 ms) keeps the full report.
    const stateDir = daemon.stateDir;
    const full = await c.waitFor(() => (JSON.parse(readFileSync(join(stateDir, 'status.json'), 'utf8')) as Json).configError as string | undefined, 5_000, 'configError in the status file');
    expect(full).toContain('checks[slow]');
    expect(full).toContain('heartbeat.interval');

    c.config = good('good-3');
    since = Date.now();
    const fixed = await c.waitFor(() => after(since, 'worker', (hb) => hb.agent.configRevision === 'good-3'), 30_000, 'a worker beat on good-3');
    expect(fixed.agent.configError).toBeUndefined();
    // Every later beat stays clear.
    await new Promise((r) => setTimeout(r, 1500));
    expect(after(since, 'worker', (hb) => hb.agent.configRevision === 'good-3' && hb.agent.configError !== undefined)).toBeUndefined();
  });

  it('is carried by the daemon heartbeats when the worker cannot beat', async () => {
    collector = await new CollectorDouble().listen();
    collector.config = bad('bad-1');
    daemon = startDaemon(testConfig(collector.url, { worker: { bakedPath: join(WORKERS, 'exits-at-once.mjs') } }));
    const c = collector;
    const refused = await c.waitFor(() => after(0, 'daemon', (hb) => hb.agent.configError !== undefined), 30_000, 'a daemon beat with configError');
    expect(refused.agent.configRevision).toBe('default');
    expect(refused.agent.configError).toMatch(/^PODPULSE_ERR_CONFIG_INVALID /);

    c.config = good('good-2');
    const since = Date.now();
    const fixed = await c.waitFor(() => after(since, 'daemon', (hb) => hb.agent.configRevision === 'good-2'), 30_000, 'a daemon beat on good-2');
    expect(fixed.agent.configError).toBeUndefined();
  });
});
