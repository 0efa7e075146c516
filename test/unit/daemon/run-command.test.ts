import { describe, expect, it } from 'vitest';
import { runCommand } from '../../../daemon/run-command.ts';

describe('runCommand', () => {
  it('caps each stream and marks it truncated while draining the rest', async () => {
    const r = await runCommand([process.execPath, '-e', "process.stdout.write('x'.repeat(300000)); process.stderr.write('e')"], { timeoutMs: 10_000, maxBytes: 1000 });
    expect(r).toMatchObject({ exitCode: 0, timedOut: false, stdoutTruncated: true, stderrTruncated: false, stderr: 'e' });
    expect(r.stdout).toHaveLength(1000);
  });

  it('passes arguments without a shell', async () => {
    const r = await runCommand(['echo', '$(id); rm -rf /'], { timeoutMs: 5000, maxBytes: 1000 });
    expect(r.stdout).toBe('$(id); rm -rf /\n');
  });

  it('kills the whole process group at the timeout', async () => {
    const started = Date.now();
    const r = await runCommand(['sh', '-c', 'sleep 30 & sleep 30'], { timeoutMs: 300, maxBytes: 1000 });
    expect(r).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reports a program that cannot be started', async () => {
    const r = await runCommand(['/no/such/program'], { timeoutMs: 1000, maxBytes: 10 });
    expect(r.spawnError).toMatch(/ENOENT/);
  });
});
