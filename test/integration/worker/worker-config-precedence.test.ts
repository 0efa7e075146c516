import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerToDaemon } from '../../../src/ipc.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { WorkerConfig } from '../../../worker/config.ts';
import { ProbeWorker } from '../../../worker/probe-worker.ts';
import { HeartbeatReceiver } from '../../helpers/heartbeat-receiver.ts';
import { registry } from '../../helpers/test-checks.ts';
import { startWorker, type WorkerProcess } from '../../helpers/worker-process.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const probe = (revision: string, interval = '1s', checks: unknown[] = []) => ({ apiVersion: 'podpulse.io/v1', revision, heartbeat: { interval }, checks });
const env = (id: string, name = 'HOME') => ({ id, kind: 'env', interval: '10s', timeout: '500ms', spec: { required: [{ name }] } });

let receiver: HeartbeatReceiver | undefined;
let workers: ProbeWorker[] = [];
let proc: WorkerProcess | undefined;
afterEach(async () => {
  for (const w of workers) await w.stop(200);
  workers = [];
  await proc?.cleanup();
  proc = undefined;
  await receiver?.stop();
  receiver = undefined;
});

/** An in-process worker whose local file says revision `local`, with its IPC messages recorded. */
async function worker(opts: { ipcConfigWaitMs?: number; local?: unknown } = {}): Promise<{ w: ProbeWorker; sent: WorkerToDaemon[] }> {
  receiver ??= await HeartbeatReceiver.start();
  const dir = mkdtempSync(join(tmpdir(), 'podpulse-precedence-'));
  const config = WorkerConfig.parse({ collector: { url: receiver.url }, spool: { dir: join(dir, 'spool') }, probe: opts.local ?? probe('local') });
  const sent: WorkerToDaemon[] = [];
  const w = new ProbeWorker({ config, registry: registry(), log, version: '0.1.0', send: (m) => sent.push(m), ipcConfigWaitMs: opts.ipcConfigWaitMs ?? 0 });
  workers.push(w);
  return { w, sent };
}

const applied = (sent: WorkerToDaemon[]) => sent.flatMap((m) => (m.type === 'config-applied' ? [m.revision] : []));

describe('worker config precedence: the daemon (IPC) wins, the local file is the fallback', () => {
  it('applies a daemon config that arrived before start, and never the local one', async () => {
    const { w, sent } = await worker();
    expect(w.applyConfig(probe('from-daemon'), 'ipc')).toEqual({ ok: true, applied: false });
    await w.start();
    expect([w.configSource, w.configRevision]).toEqual(['ipc', 'from-daemon']);
    expect(applied(sent)).toEqual(['from-daemon']);
    expect(sent.find((m) => m.type === 'ready')).toMatchObject({ configRevision: 'from-daemon' });
  });

  it('ignores the local config once a daemon config runs, whichever comes later', async () => {
    const { w, sent } = await worker();
    await w.start();
    expect([w.configSource, w.configRevision]).toEqual(['local', 'local']);
    expect(w.applyConfig(probe('d1'), 'ipc')).toEqual({ ok: true, applied: true });
    expect(w.applyConfig(probe('local-2'), 'local')).toEqual({ ok: true, applied: false });
    expect([w.configSource, w.configRevision]).toEqual(['ipc', 'd1']);
    expect(applied(sent)).toEqual(['local', 'd1']);
  });

  it('waits for the daemon config under IPC and starts as soon as it comes', async () => {
    const { w, sent } = await worker({ ipcConfigWaitMs: 10_000 });
    const t0 = Date.now();
    const started = w.start();
    setTimeout(() => w.applyConfig(probe('late-daemon'), 'ipc'), 300);
    await started;
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(w.configRevision).toBe('late-daemon');
    expect(applied(sent)).toEqual(['late-daemon']);
  });

  it('falls back to the local file when no daemon config comes within the wait', async () => {
    const { w } = await worker({ ipcConfigWaitMs: 200 });
    await w.start();
    expect([w.configSource, w.configRevision]).toEqual(['local', 'local']);
  });

  it('falls back to the local file when the early daemon config is invalid, and says so to the daemon', async () => {
    const { w, sent } = await worker();
    const r = w.applyConfig(probe('bad', '1s', [{ ...env('slow'), timeout: '15s' }]), 'ipc');
    expect(r.ok).toBe(false);
    await w.start();
    expect(w.configRevision).toBe('local');
    expect(sent.find((m) => m.type === 'config-rejected')).toMatchObject({ revision: 'bad' });
  });

  it('beats as soon as the first round of checks is in, not a full interval later', async () => {
    const { w } = await worker({ local: probe('r1', '30s', [env('a'), env('b'), env('c', 'sleep_200')]) });
    const t0 = Date.now();
    await w.start();
    const r = receiver!;
    await r.waitFor(() => r.received.length >= 1, 5_000, 'a first heartbeat');
    const first = r.received[0]!;
    // First runs within ~1 s plus the 200 ms check; the heartbeat interval is 30 s.
    expect(first.at - t0).toBeLessThan(3_000);
    expect(first.hb.checks.map((c) => [c.id, c.status])).toEqual([['a', 'ok'], ['b', 'ok'], ['c', 'ok']]);
    expect(first.hb.seq).toBe(0);
  });
});

describe('worker config race with the real process', () => {
  it('runs the config the daemon sends right after the fork, never its local file', async () => {
    receiver = await HeartbeatReceiver.start();
    const r = receiver;
    proc = startWorker((dir) => ({ collector: { url: r.url }, spool: { dir: join(dir, 'spool') }, probe: probe('local', '1s', [env('local-check')]) }), { ipc: true });
    proc.child.send({ type: 'config', config: probe('from-daemon', '1s', [env('daemon-check')]) });
    const p = proc;
    await r.waitFor(() => r.received.length >= 2, 20_000, 'two heartbeats');
    const ready = p.messages.find((m) => m.type === 'ready');
    expect(ready).toMatchObject({ configRevision: 'from-daemon' });
    expect(p.messages.filter((m) => m.type === 'config-applied').map((m) => m.revision)).toEqual(['from-daemon']);
    expect(r.received.every(({ hb }) => hb.agent.configRevision === 'from-daemon' && hb.checks.every((c) => c.id === 'daemon-check'))).toBe(true);
  });
});
