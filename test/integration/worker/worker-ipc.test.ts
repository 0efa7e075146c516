import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HeartbeatReceiver } from '../../helpers/heartbeat-receiver.ts';
import { startWorker, type WorkerProcess } from '../../helpers/worker-process.ts';

let worker: WorkerProcess | undefined;
let receiver: HeartbeatReceiver | undefined;
afterEach(async () => {
  await worker?.cleanup();
  await receiver?.stop();
});

const probe = (revision: string, checks: unknown[] = []) => ({ apiVersion: 'podpulse.io/v1', revision, heartbeat: { interval: '1s' }, checks });
const envCheck = (id: string, name = 'HOME') => ({ id, kind: 'env', interval: '1s', timeout: '500ms', spec: { required: [{ name }] } });

async function until<T>(get: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('worker under the daemon (IPC)', () => {
  it('sends ready, applies a config without restarting, refuses an invalid one and keeps the old, and stops on request', async () => {
    receiver = await HeartbeatReceiver.start();
    const r = receiver;
    worker = startWorker((dir) => ({ collector: { url: r.url }, spool: { dir: join(dir, 'spool') }, probe: probe('local') }), { ipc: true });
    const w = worker;
    const ready = await until(() => w.messages.find((m) => m.type === 'ready'), 20_000, 'ready');
    expect(ready).toMatchObject({ type: 'ready', configRevision: 'local', version: '0.1.0' });
    const pid = w.child.pid;

    w.child.send({ type: 'config', config: probe('9', [envCheck('home')]) });
    await until(() => w.messages.find((m) => m.type === 'config-applied' && m.revision === '9'), 10_000, 'config-applied');
    w.child.send({ type: 'agent-state', agent: { daemonVersion: '0.0.9', breaker: 'half-open' } });
    await r.waitFor(() => r.unique().some((h) => h.agent.configRevision === '9' && h.checks.some((c) => c.id === 'home') && h.agent.daemonVersion === '0.0.9'), 20_000, 'beat with the new config');
    const delivered = await until(() => w.messages.find((m) => m.type === 'heartbeat-delivered'), 10_000, 'heartbeat-delivered');
    expect(delivered).toMatchObject({ configRevision: '1', commandsPending: false });

    // timeout >= interval: refused with the check id and field named; the running config stays.
    w.child.send({ type: 'config', config: probe('10', [{ ...envCheck('slow'), timeout: '15s', interval: '10s' }]) });
    const rejected = await until(() => w.messages.find((m) => m.type === 'config-rejected'), 10_000, 'config-rejected');
    expect(rejected.revision).toBe('10');
    expect(rejected.error).toContain('checks[slow].timeout');
    expect(rejected.error).toContain('must be shorter than interval "10s"');
    const seen = r.received.length;
    await r.waitFor(() => r.received.length >= seen + 2, 20_000, 'more beats');
    expect(r.received.at(-1)!.hb.agent.configRevision).toBe('9');
    expect(w.child.pid).toBe(pid);

    w.child.send({ type: 'stop', graceMs: 3000 });
    expect(await w.exited).toBe(0);
    expect(w.messages.find((m) => m.type === 'stopped')).toMatchObject({ type: 'stopped', remaining: 0 });
  });

  it('exits when the IPC channel to the daemon disconnects', async () => {
    receiver = await HeartbeatReceiver.start();
    const r = receiver;
    worker = startWorker((dir) => ({ collector: { url: r.url }, spool: { dir: join(dir, 'spool') }, probe: probe('1') }), { ipc: true });
    const w = worker;
    await until(() => w.messages.find((m) => m.type === 'ready'), 20_000, 'ready');
    w.child.disconnect();
    expect(await w.exited).toBe(0);
  });

  it('flushes spooled heartbeats within the grace period on SIGTERM', async () => {
    receiver = await HeartbeatReceiver.start({ respond: () => ({ status: 503, headers: { 'retry-after': '30' } }) });
    const r = receiver;
    worker = startWorker((dir) => ({ collector: { url: r.url }, spool: { dir: join(dir, 'spool') }, probe: probe('1') }));
    await r.waitFor(() => r.requests.length >= 1, 20_000, 'a first attempt');
    await new Promise((res) => setTimeout(res, 2500));
    // The collector recovers, but the worker is backing off for 30 s: only the stop's flush can deliver now.
    r.respond = undefined;
    expect(await worker.stop(5000)).toBe(0);
    const seqs = r.unique().map((h) => h.seq);
    expect(seqs.length).toBeGreaterThanOrEqual(3);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
    expect(worker.logs().find((l) => l.msg === 'stopped')).toMatchObject({ remaining: 0 });
  });

  it('sends the rotated token on the next request after the token file is replaced', async () => {
    receiver = await HeartbeatReceiver.start();
    const r = receiver;
    worker = startWorker((dir) => {
      writeFileSync(join(dir, 'token'), 'token-one');
      return { collector: { url: r.url, tokenFile: join(dir, 'token') }, spool: { dir: join(dir, 'spool') }, probe: probe('1') };
    });
    await r.waitFor(() => r.requests.length >= 2, 20_000, 'beats with the first token');
    writeFileSync(join(worker.dir, 'token.tmp'), 'token-two');
    renameSync(join(worker.dir, 'token.tmp'), join(worker.dir, 'token'));
    const rotatedAt = Date.now();
    await r.waitFor(() => r.requests.filter((q) => q.at > rotatedAt + 100).length >= 2, 20_000, 'beats after rotation');
    expect(r.requests.filter((q) => q.at < rotatedAt).every((q) => q.headers.authorization === 'Bearer token-one')).toBe(true);
    const after = r.requests.filter((q) => q.at > rotatedAt + 100);
    expect(after.every((q) => q.headers.authorization === 'Bearer token-two')).toBe(true);
    expect(worker.logs().map((l) => JSON.stringify(l)).join('\n')).not.toContain('token-one');
  });
});
