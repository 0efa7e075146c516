import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CollectorDouble, type Json } from '../../helpers/collector-double.ts';
import { startDaemon, testConfig, type DaemonRun } from '../../helpers/daemon-harness.ts';

let collector: CollectorDouble;
let daemon: DaemonRun;

const allowlist = [
  { name: 'cat-file', argv: ['cat', '{path}'], params: { path: { pattern: '/etc/[a-z.]+' } }, timeout: '5s', maxOutputBytes: 100 },
  { name: 'sleep', argv: ['sleep', '{seconds}'], params: { seconds: { pattern: '[0-9]+' } }, timeout: '500ms' },
];

function command(template: string, params: Record<string, string>): Record<string, unknown> {
  const now = Date.now();
  return { id: randomUUID(), template, params, createdAt: new Date(now).toISOString(), expiresAt: new Date(now + 60_000).toISOString() };
}

async function resultFor(id: unknown): Promise<Json> {
  return collector.waitFor(() => collector.results.find((r) => r.id === id), 30_000, `the result of ${String(id)}`);
}

beforeEach(async () => {
  collector = await new CollectorDouble().listen();
  daemon = startDaemon(testConfig(collector.url, { commands: { allowlist, pollWait: 2 } }));
  await collector.waitFor(() => collector.workerBeats()[0], 30_000, 'a worker heartbeat');
});

afterEach(async () => {
  await daemon.kill();
  await collector.close();
});

describe('daemon command channel', () => {
  it('runs an allowed template and posts the exit code and the output capped at the template limit', async () => {
    const cmd = command('cat-file', { path: '/etc/passwd' });
    collector.enqueue(cmd);
    const r = await resultFor(cmd.id);
    expect(r).toMatchObject({ status: 'completed', exitCode: 0, signal: null, stdoutTruncated: true, stderrTruncated: false });
    expect(Buffer.byteLength(r.stdout as string)).toBe(100);
    expect(readFileSync('/etc/passwd', 'utf8').startsWith(r.stdout as string)).toBe(true);
    const missing = command('cat-file', { path: '/etc/no.such.file' });
    collector.enqueue(missing);
    const r2 = await resultFor(missing.id);
    expect(r2).toMatchObject({ status: 'completed', exitCode: 1, stdout: '' });
    expect(r2.stderr).toMatch(/No such file/);
  });

  it('refuses a command that matches no template in the local allowlist', async () => {
    const cmd = command('rm-everything', {});
    collector.enqueue(cmd);
    const r = await resultFor(cmd.id);
    expect(r).toMatchObject({ status: 'refused', exitCode: null });
    expect(r.error).toMatch(/not in this pod's allowlist/);
  });

  it('refuses a param that fails its regex (the whole value must match)', async () => {
    const traversal = command('cat-file', { path: '/etc/../root/.ssh/id_rsa' });
    const suffix = command('cat-file', { path: '/etc/passwd /etc/shadow' });
    collector.enqueue(traversal);
    collector.enqueue(suffix);
    for (const c of [traversal, suffix]) {
      const r = await resultFor(c.id);
      expect(r.status).toBe('refused');
      expect(r.error).toMatch(/does not match/);
    }
  });

  it('kills a command at its timeout and reports status timeout', async () => {
    const cmd = command('sleep', { seconds: '30' });
    const sent = Date.now();
    collector.enqueue(cmd);
    const r = await resultFor(cmd.id);
    expect(r).toMatchObject({ status: 'timeout', signal: 'SIGKILL', exitCode: null });
    expect(Date.now() - sent).toBeLessThan(10_000);
  });

  it('applies a new allowlist on SIGHUP and keeps the old config when the reloaded file is invalid', async () => {
    const cfg = JSON.parse(readFileSync(daemon.configFile, 'utf8')) as Json;
    cfg.commands.allowlist = [...allowlist, { name: 'echo', argv: ['echo', '{word}'], params: { word: { pattern: '[a-z]+' } } }];
    writeFileSync(daemon.configFile, JSON.stringify(cfg));
    daemon.proc.kill('SIGHUP');
    await daemon.waitLog((l) => l.msg === 'local config reloaded');
    const echo = command('echo', { word: 'hello' });
    collector.enqueue(echo);
    expect((await resultFor(echo.id)).stdout).toBe('hello\n');

    writeFileSync(daemon.configFile, JSON.stringify({ ...cfg, commands: { allowlist: 'not a list' } }));
    daemon.proc.kill('SIGHUP');
    await daemon.waitLog((l) => l.msg === 'SIGHUP: the local config is invalid; keeping the running one');
    const again = command('echo', { word: 'still' });
    collector.enqueue(again);
    expect((await resultFor(again.id)).stdout).toBe('still\n');
  });
});
