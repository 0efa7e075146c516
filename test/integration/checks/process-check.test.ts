import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { processCheck } from '../../../checks/process-check.ts';
import { parseProcStat } from '../../../checks/process-match.ts';
import { checkContext } from '../../helpers/check-context.ts';
import { writeProcTree } from './proc-fixture.ts';

let tmp: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'podpulse-process-'));
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const check = (input: Record<string, unknown>) => processCheck.run(processCheck.spec.parse(input), checkContext());
const tag = () => Math.random().toString(36).slice(2, 8);

/**
 * Starts a copy of `sleep` under `name`, so the kernel's comm is that name; resolves once it has exec'd. Extra
 * args must be durations (sleep adds them up), which is how a test puts a marker in the command line.
 */
async function startNamed(name: string, ...args: string[]): Promise<ChildProcess> {
  const bin = path.join(tmp, name);
  await copyFile('/bin/sleep', bin, constants.COPYFILE_EXCL).then(
    () => chmod(bin, 0o755),
    () => undefined, // already installed by an earlier start
  );
  const child = spawn(bin, ['300', ...args], { stdio: 'ignore' });
  children.push(child);
  await expect.poll(async () => parseProcStat(await readFile(`/proc/${child.pid}/stat`, 'utf8'))?.comm, { timeout: 10_000 }).toBe(name.slice(0, 15));
  return child;
}

describe('process check against real processes', () => {
  it('is ok when a process with the name runs', async () => {
    const name = `pp-ok-${tag()}`;
    const child = await startNamed(name);
    expect(await check({ match: { name } })).toEqual({ status: 'ok', code: 'OK' });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(await check({ match: { name } })).toMatchObject({ status: 'fail', code: 'PROCESS_MISSING' });
  });

  it('reports PROCESS_MISSING when no process matches, or fewer than min', async () => {
    expect(await check({ match: { name: `pp-none-${tag()}` } })).toMatchObject({ status: 'fail', code: 'PROCESS_MISSING', details: { matched: 0 } });
    const name = `pp-min-${tag()}`;
    await startNamed(name);
    expect(await check({ match: { name }, min: 2 })).toMatchObject({ status: 'fail', code: 'PROCESS_MISSING', details: { matched: 1 } });
  });

  it('reports PROCESS_COUNT when more processes match than max', async () => {
    const name = `pp-many-${tag()}`;
    for (let i = 0; i < 3; i++) await startNamed(name);
    const out = await check({ match: { name }, max: 2 });
    expect(out).toMatchObject({ status: 'fail', code: 'PROCESS_COUNT', details: { matched: 3 } });
  });

  it('matches a name holding spaces and parentheses, and a command line pattern', async () => {
    const name = `p (x) ${tag()}`;
    const marker = `0.000${Math.floor(Math.random() * 1e6)}`;
    await startNamed(name, marker);
    expect(await check({ match: { name } })).toEqual({ status: 'ok', code: 'OK' });
    const pattern = ` 300 ${marker.replace('.', '\\.')}$`;
    expect(await check({ match: { cmdline: pattern }, min: 1, max: 1 })).toEqual({ status: 'ok', code: 'OK' });
    expect(await check({ match: { name, cmdline: `${pattern}9` } })).toMatchObject({ status: 'fail', code: 'PROCESS_MISSING' });
  });

  it('reports PROCESS_ZOMBIES when a real zombie exists (a child its parent never reaps)', async () => {
    // sh starts `sleep 0` in the background, then execs sleep, which never waits: the exited child stays a zombie.
    const child = spawn('/bin/sh', ['-c', 'sleep 0 & echo $!; exec sleep 300'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(child);
    const zombie = Number(await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))));
    await expect.poll(async () => parseProcStat(await readFile(`/proc/${zombie}/stat`, 'utf8'))?.state, { timeout: 10_000 }).toBe('Z');
    const out = await check({ match: { name: 'sleep' }, min: 0, failZombies: 0 });
    expect(out).toMatchObject({ status: 'fail', code: 'PROCESS_ZOMBIES' });
    expect(out.details!.zombies).toBeGreaterThanOrEqual(1);
  });
});

describe('process check against a fixture /proc tree', () => {
  let procRoot: string;
  beforeAll(async () => {
    procRoot = path.join(tmp, 'proc');
    await writeProcTree(procRoot, [
      { pid: 1, comm: 'tini', state: 'S', argv: ['/tini', '--', 'app'] },
      { pid: 10, comm: 'nginx', state: 'S', argv: ['nginx: master process'] },
      { pid: 11, comm: 'nginx', state: 'Z' }, // a dead nginx is not a running nginx
      { pid: 12, comm: 'php-fpm', state: 'Z' },
      // A name made to look like a zombie: state is after the LAST ')'.
      { pid: 13, comm: 'x) Z (y', state: 'S', argv: ['x'] },
    ]);
    await mkdir(path.join(procRoot, '14')); // a process that exited mid-scan: its files are gone
    await mkdir(path.join(procRoot, 'sys'));
  });

  it('counts live matches only, tolerates vanished processes, and parses tricky names', async () => {
    expect(await check({ procRoot, match: { name: 'nginx' }, max: 1, warnZombies: 2 })).toEqual({ status: 'ok', code: 'OK' });
    expect(await check({ procRoot, match: { name: 'x) Z (y' } })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports PROCESS_ZOMBIES warn and fail against the thresholds', async () => {
    const warned = await check({ procRoot, match: { name: 'nginx' }, warnZombies: 1, failZombies: 5 });
    expect(warned).toMatchObject({ status: 'warn', code: 'PROCESS_ZOMBIES', details: { zombies: 2, zombiePids: '11,12' } });
    expect(await check({ procRoot, match: { name: 'nginx' }, warnZombies: 0, failZombies: 1 })).toMatchObject({ status: 'fail', code: 'PROCESS_ZOMBIES' });
  });

  it('reads a command line only when the match needs it (comm already names the process)', async () => {
    // cmdline is a FIFO with no writer: reading it would never return, so an ok answer proves it was not read.
    const root = path.join(tmp, `proc-lazy-${tag()}`);
    await writeProcTree(root, [{ pid: 21, comm: 'api', state: 'S' }]);
    await rm(path.join(root, '21', 'cmdline'));
    execFileSync('mkfifo', [path.join(root, '21', 'cmdline')]);
    const run = processCheck.run(processCheck.spec.parse({ procRoot: root, match: { name: 'api' } }), checkContext({ timeoutMs: 2000 }));
    const hung = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 3000).unref());
    expect(await Promise.race([run, hung])).toEqual({ status: 'ok', code: 'OK' });
  });

  it('never reads the command line of a kernel thread (it has none)', async () => {
    // A kernel thread (PF_KTHREAD in the stat flags, as kthreadd's 0x208040) whose comm does not name the process
    // would otherwise have its cmdline read: here a FIFO with no writer, so an answer proves it was not read.
    const root = path.join(tmp, `proc-kthread-${tag()}`);
    await writeProcTree(root, [{ pid: 21, comm: 'api', state: 'S', argv: ['/app/api'] }, { pid: 2, comm: 'kthreadd', state: 'S' }]);
    await writeFile(path.join(root, '2', 'stat'), `2 (kthreadd) S 0 0 0 0 -1 ${0x208040} 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0\n`);
    await rm(path.join(root, '2', 'cmdline'));
    execFileSync('mkfifo', [path.join(root, '2', 'cmdline')]);
    const run = processCheck.run(processCheck.spec.parse({ procRoot: root, match: { name: 'api' } }), checkContext({ timeoutMs: 2000 }));
    const hung = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 3000).unref());
    expect(await Promise.race([run, hung])).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports unknown NOT_SUPPORTED when procRoot does not exist', async () => {
    expect(await check({ procRoot: path.join(tmp, 'no-proc'), match: { name: 'x' } })).toMatchObject({ status: 'unknown', code: 'NOT_SUPPORTED' });
  });
});
