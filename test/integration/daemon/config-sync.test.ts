import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectorDouble, type Json } from '../../helpers/collector-double.ts';
import { DAEMON_ENTRY, daemonDir, startDaemon, testConfig, type DaemonRun } from '../../helpers/daemon-harness.ts';

const run = promisify(execFile);
let collector: CollectorDouble | undefined;
let daemon: DaemonRun | undefined;

afterEach(async () => {
  await daemon?.kill();
  await collector?.close();
  collector = undefined;
});

function status(d: DaemonRun): Json | undefined {
  try {
    return JSON.parse(readFileSync(join(d.stateDir, 'status.json'), 'utf8')) as Json;
  } catch {
    return undefined;
  }
}

async function health(stateDir: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [DAEMON_ENTRY, 'health', '--state-dir', stateDir, '--max-age', '5']);
    return { code: 0, out: r.stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, out: e.stdout };
  }
}

describe('daemon config sync', () => {
  it('runs the cached config while the collector is unreachable at start, then picks up the new revision when it returns', async () => {
    // Learn a free port, then leave it closed: the collector is "down" at the daemon's start.
    const probe = await new CollectorDouble().listen();
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const where = daemonDir();
    mkdirSync(where.stateDir, { recursive: true });
    writeFileSync(join(where.stateDir, 'agent-config.json'), JSON.stringify({ etag: '"old"', config: { apiVersion: 'podpulse.io/v1', revision: 'cached-7', heartbeat: { interval: '1s' } } }));
    daemon = startDaemon(testConfig(`http://127.0.0.1:${port}`), where);
    await daemon.waitLog((l) => l.msg === 'agent config applied' && l.source === 'cache');
    await daemon.waitLog((l) => l.msg === 'collector unreachable; running the last good config', 20_000);
    const running = await waitStatus(daemon, (s) => s.worker === 'running' && s.configRevision === 'cached-7');
    const pid = running.workerPid as number;

    collector = new CollectorDouble();
    collector.config = { apiVersion: 'podpulse.io/v1', revision: 'fresh-8', heartbeat: { interval: '1s' } };
    await collector.listen(port);
    const beat = await collector.waitFor(() => collector!.workerBeats().find((b) => b.body.configRevision === 'fresh-8'), 30_000, 'a beat on the new revision');
    // Applied over IPC: the same worker process, not a restart.
    expect(beat.body.pid).toBe(pid);
    const cache = JSON.parse(readFileSync(join(where.stateDir, 'agent-config.json'), 'utf8')) as Json;
    expect(cache.config.revision).toBe('fresh-8');
  });

  it('refuses an invalid config once, keeps the last good one and reports the refusal in the status file; 304 changes nothing', async () => {
    collector = await new CollectorDouble().listen();
    collector.config = { apiVersion: 'podpulse.io/v1', revision: 'good-1', heartbeat: { interval: '1s' } };
    daemon = startDaemon(testConfig(collector.url));
    await collector.waitFor(() => collector!.workerBeats().find((b) => b.body.configRevision === 'good-1'), 30_000, 'the good revision');
    const requests = collector.configRequests;
    await collector.waitFor(() => collector!.configRequests >= requests + 2, 20_000, 'two more polls');
    expect(daemon.logs.filter((l) => l.msg === 'agent config applied' && l.revision === 'good-1')).toHaveLength(1);

    collector.config = { apiVersion: 'podpulse.io/v1', revision: 'bad-2', heartbeat: { interval: '100ms' }, checks: 'nope' };
    const refused = await daemon.waitLog((l) => l.msg === 'refused an invalid config from the collector; keeping the last good one');
    expect(refused.error).toMatch(/checks/);
    const st = await waitStatus(daemon, (s) => typeof s.configError === 'string');
    expect(st.configError).toMatch(/checks/);
    expect(st.configRevision).toBe('good-1');
    const since = Date.now();
    const beat = await collector.waitFor(() => collector!.workerBeats().find((b) => b.at > since), 20_000, 'a beat after the refusal');
    expect(beat.body.configRevision).toBe('good-1');
    const after = collector.configRequests;
    await collector.waitFor(() => collector!.configRequests >= after + 3, 20_000, 'more polls');
    expect(daemon.logs.filter((l) => l.msg === 'refused an invalid config from the collector; keeping the last good one')).toHaveLength(1);
  });

  it('answers health 0 while running and 1 once stopped or when there is no status file', async () => {
    collector = await new CollectorDouble().listen();
    daemon = startDaemon(testConfig(collector.url));
    await waitStatus(daemon, (s) => s.worker === 'running');
    const up = await health(daemon.stateDir);
    expect(up.code).toBe(0);
    expect(up.out).toMatch(/^healthy: daemon running, worker running/);
    daemon.proc.kill('SIGTERM');
    await daemon.exit;
    const down = await health(daemon.stateDir);
    expect(down.code).toBe(1);
    expect(down.out).toMatch(/daemon is stopping/);
    expect((await health(join(daemon.dir, 'nowhere'))).code).toBe(1);
  });
});

async function waitStatus(d: DaemonRun, ok: (s: Json) => boolean): Promise<Json> {
  const until = Date.now() + 30_000;
  for (;;) {
    const s = status(d);
    if (s && ok(s)) return s;
    if (Date.now() > until) throw new Error(`status never matched; last ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
