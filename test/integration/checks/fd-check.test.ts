import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fdCheck, softOpenFiles } from '../../../checks/fd-check.ts';
import { checkContext } from '../../helpers/check-context.ts';
import { writeProcTree } from './proc-fixture.ts';

const check = (input: Record<string, unknown>) => fdCheck.run(fdCheck.spec.parse(input), checkContext());
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Descriptors a holder process keeps open: stdin/out/err plus 3..19. */
const HELD = 20;

/**
 * A real process holding exactly HELD descriptors under a soft limit of `soft` (which must leave one free: the
 * dynamic loader of `sleep` opens libc), found by the marker bash puts in its argv[0] (`exec -a`).
 */
async function holder(soft: number): Promise<string> {
  const marker = `podpulse-fd-${Math.random().toString(36).slice(2, 10)}`;
  const redirects = Array.from({ length: HELD - 3 }, (_, i) => `${i + 3}</dev/null`).join(' ');
  // Descriptors inherited from outside (a leaked pipe of the environment) are closed, so the count is exact.
  const closeOthers = `for f in /proc/$$/fd/*; do n=\${f##*/}; if [ "$n" -ge ${HELD} ]; then eval "exec $n>&-"; fi; done`;
  const script = `${closeOthers}; ulimit -Sn ${soft} && exec ${redirects} && exec -a ${marker} sleep 300`;
  const child = spawn('/bin/bash', ['-c', script], { stdio: 'ignore' });
  children.push(child);
  await expect.poll(async () => (await check({ target: { process: { cmdline: `^${marker}` } } })).code, { timeout: 10_000 }).not.toBe('CHECK_MISCONFIGURED');
  return `^${marker}`;
}

describe('fd check against real processes', () => {
  it('is ok for the worker itself (self) far below its limit', async () => {
    expect(await check({})).toEqual({ status: 'ok', code: 'OK' });
  });

  it('is ok for a matched process far below its soft limit', async () => {
    const cmdline = await holder(1000);
    expect(await check({ target: { process: { cmdline } } })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports FD_EXHAUSTION warn when a process uses more than warnRatio of its soft limit', async () => {
    const cmdline = await holder(24); // 20 of 24
    const out = await check({ target: { process: { cmdline } } });
    expect(out).toMatchObject({ status: 'warn', code: 'FD_EXHAUSTION', details: { openFds: HELD, softLimit: 24 } });
  });

  it('reports FD_EXHAUSTION fail when a process is one descriptor short of its soft limit', async () => {
    const cmdline = await holder(21); // 20 of 21 > 0.95
    expect(await check({ target: { process: { cmdline } } })).toMatchObject({ status: 'fail', code: 'FD_EXHAUSTION', details: { openFds: HELD, softLimit: 21 } });
  });

  it('reports unknown CHECK_MISCONFIGURED when no process matches the target', async () => {
    expect(await check({ target: { process: { name: 'podpulse-none-such' } } })).toMatchObject({ status: 'unknown', code: 'CHECK_MISCONFIGURED' });
  });
});

describe('fd check against a fixture /proc tree', () => {
  let procRoot: string;
  beforeAll(async () => {
    procRoot = await mkdtemp(path.join(os.tmpdir(), 'podpulse-fd-'));
    await writeProcTree(procRoot, [
      { pid: 20, comm: 'java', state: 'S', argv: ['java', '-jar', 'app.jar'], fds: 97, openFilesLimit: ['100', '4096'] },
      { pid: 21, comm: 'java', state: 'S', argv: ['java', '-jar', 'other.jar'], fds: 5, openFilesLimit: ['100', '4096'] },
      { pid: 30, comm: 'envoy', state: 'S', argv: ['envoy'], fds: 50, openFilesLimit: ['unlimited', 'unlimited'] },
    ]);
  });
  afterAll(async () => {
    await rm(procRoot, { recursive: true, force: true });
  });

  it('judges the matched process closest to its limit', async () => {
    expect(await check({ procRoot, target: { process: { name: 'java' } } })).toMatchObject({ status: 'fail', code: 'FD_EXHAUSTION', details: { pid: '20', openFds: 97 } });
    expect(await check({ procRoot, target: { process: { cmdline: 'other' } } })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('is ok when the soft limit is unlimited', async () => {
    expect(await check({ procRoot, target: { process: { name: 'envoy' } } })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('parses the soft column of Max open files', () => {
    expect(softOpenFiles('Max open files            1024                 524288               files     \n')).toBe(1024);
    expect(softOpenFiles('Max open files            unlimited            unlimited            files     \n')).toBeNull();
    expect(softOpenFiles('Max processes 10 10 processes\n')).toBeUndefined();
  });
});
