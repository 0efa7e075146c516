import { cp, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupCheck } from '../../../checks/cgroup-check.ts';
import { checkContext } from '../../helpers/check-context.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/cgroup');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'podpulse-cgroup-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

let n = 0;
/** A private copy of a fixture tree, with `files` (path → content) rewritten. */
async function tree(version: 'v1' | 'v2', files: Record<string, string> = {}): Promise<string> {
  const root = path.join(tmp, `${version}-${n++}`);
  await cp(path.join(FIXTURES, version), root, { recursive: true });
  await rewrite(root, files);
  return root;
}
async function rewrite(root: string, files: Record<string, string>) {
  for (const [file, content] of Object.entries(files)) await writeFile(path.join(root, file), content);
}
const psi = (some: number, full = 0) => `some avg10=${some.toFixed(2)} avg60=0.00 avg300=0.00 total=1\nfull avg10=${full.toFixed(2)} avg60=0.00 avg300=0.00 total=1\n`;
const cpuStat = (periods: number, throttled: number) => `usage_usec 1\nnr_periods ${periods}\nnr_throttled ${throttled}\nthrottled_usec 1\n`;
const check = (root: string, input: Record<string, unknown> = {}, state = new Map<string, unknown>()) =>
  cgroupCheck.run(cgroupCheck.spec.parse({ root, ...input }), checkContext({ state }));

describe('cgroup check on a v2 tree', () => {
  it('is ok when every signal is below its threshold', async () => {
    const root = await tree('v2');
    const state = new Map<string, unknown>();
    expect(await check(root, {}, state)).toEqual({ status: 'ok', code: 'OK' });
    expect(await check(root, {}, state)).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports MEM_PRESSURE warn and fail from the working set against memory.max, and none for "max"', async () => {
    // working set = memory.current - inactive_file (10 MiB in the fixture); limit 1 GiB.
    const GiB = 1024 ** 3;
    const root = await tree('v2', { 'memory.max': `${GiB}\n`, 'memory.current': `${Math.round(0.9 * GiB) + 10485760}\n` });
    const warned = await check(root);
    expect(warned).toMatchObject({ status: 'warn', code: 'MEM_PRESSURE', details: { version: 'v2', memoryRatio: 0.9, memoryLimitBytes: GiB } });
    await rewrite(root, { 'memory.current': `${Math.round(0.97 * GiB) + 10485760}\n` });
    expect(await check(root)).toMatchObject({ status: 'fail', code: 'MEM_PRESSURE' });
    await rewrite(root, { 'memory.max': 'max\n' });
    expect(await check(root)).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports OOM_KILLED once when memory.events oom_kill grows between runs', async () => {
    const root = await tree('v2');
    const state = new Map<string, unknown>();
    await rewrite(root, { 'memory.events': 'oom 3\noom_kill 3\n' });
    expect(await check(root, {}, state)).toEqual({ status: 'ok', code: 'OK' }); // first run: a baseline, not news
    await rewrite(root, { 'memory.events': 'oom 5\noom_kill 5\n' });
    expect(await check(root, {}, state)).toMatchObject({ status: 'fail', code: 'OOM_KILLED', details: { oomKills: 5, oomKillsNew: 2 } });
    expect(await check(root, {}, state)).toEqual({ status: 'ok', code: 'OK' });
    await rewrite(root, { 'memory.events': 'oom 6\noom_kill 6\n' });
    expect(await check(root, { oomKills: false }, state)).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports CPU_THROTTLED warn and fail from the throttled share of periods since the previous run', async () => {
    const root = await tree('v2', { 'cpu.stat': cpuStat(1000, 10) });
    const state = new Map<string, unknown>();
    expect(await check(root, {}, state)).toEqual({ status: 'ok', code: 'OK' });
    await rewrite(root, { 'cpu.stat': cpuStat(1100, 40) }); // 30 of 100
    expect(await check(root, {}, state)).toMatchObject({ status: 'warn', code: 'CPU_THROTTLED', details: { cpuThrottledRatio: 0.3 } });
    await rewrite(root, { 'cpu.stat': cpuStat(1200, 100) }); // 60 of 100
    expect(await check(root, {}, state)).toMatchObject({ status: 'fail', code: 'CPU_THROTTLED', details: { cpuThrottledRatio: 0.6 } });
    expect(await check(root, {}, state)).toEqual({ status: 'ok', code: 'OK' }); // no period elapsed
  });

  it('reports CPU_PRESSURE, MEM_PRESSURE and IO_PRESSURE from PSI some avg10', async () => {
    expect(await check(await tree('v2', { 'cpu.pressure': psi(95) }))).toMatchObject({ status: 'fail', code: 'CPU_PRESSURE', details: { psiCpuSome: 95 } });
    expect(await check(await tree('v2', { 'cpu.pressure': psi(60) }))).toMatchObject({ status: 'warn', code: 'CPU_PRESSURE' });
    expect(await check(await tree('v2', { 'memory.pressure': psi(25) }))).toMatchObject({ status: 'warn', code: 'MEM_PRESSURE', details: { psiMemorySome: 25 } });
    expect(await check(await tree('v2', { 'io.pressure': psi(80) }))).toMatchObject({ status: 'fail', code: 'IO_PRESSURE', details: { psiIoSome: 80 } });
  });

  it('judges PSI full avg10 only when psi.full is set', async () => {
    const root = await tree('v2', { 'io.pressure': psi(5, 80) });
    expect(await check(root)).toEqual({ status: 'ok', code: 'OK' });
    expect(await check(root, { psi: { io: { warn: 30, fail: 70 }, full: true } })).toMatchObject({ status: 'fail', code: 'IO_PRESSURE', details: { psiIoFull: 80 } });
  });

  it('reports PIDS_EXHAUSTED warn and fail from pids.current against pids.max', async () => {
    expect(await check(await tree('v2', { 'pids.current': '900\n' }))).toMatchObject({ status: 'warn', code: 'PIDS_EXHAUSTED', details: { pidsCurrent: 900, pidsMax: 1024 } });
    expect(await check(await tree('v2', { 'pids.current': '1000\n' }))).toMatchObject({ status: 'fail', code: 'PIDS_EXHAUSTED' });
    expect(await check(await tree('v2', { 'pids.current': '1000\n', 'pids.max': 'max\n' }))).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports the worst finding and lists the others', async () => {
    const root = await tree('v2', { 'pids.current': '900\n', 'io.pressure': psi(90), 'memory.pressure': psi(25) });
    const out = await check(root);
    expect(out).toMatchObject({ status: 'fail', code: 'IO_PRESSURE', details: { alsoFound: 'MEM_PRESSURE,PIDS_EXHAUSTED' } });
  });

  it('skips a signal whose files are missing', async () => {
    const root = await tree('v2', { 'pids.current': '1000\n' });
    await rm(path.join(root, 'memory.current'));
    await rm(path.join(root, 'cpu.pressure'));
    const out = await check(root);
    expect(out).toMatchObject({ status: 'fail', code: 'PIDS_EXHAUSTED' });
    expect(out.details).not.toHaveProperty('memoryRatio');
    expect(out.details).not.toHaveProperty('psiCpuSome');
  });

  it('reports unknown NOT_SUPPORTED when nothing can be read', async () => {
    const empty = path.join(tmp, 'empty');
    await cp(path.join(FIXTURES, 'v2', 'cgroup.controllers'), path.join(empty, 'cgroup.controllers'));
    expect(await check(empty)).toMatchObject({ status: 'unknown', code: 'NOT_SUPPORTED' });
    expect(await check(path.join(tmp, 'no-such-root'))).toMatchObject({ status: 'unknown', code: 'NOT_SUPPORTED' });
  });
});

describe('cgroup check on a v1 tree', () => {
  it('detects v1 and is ok with the "unlimited" memory limit', async () => {
    const root = await tree('v1');
    const state = new Map<string, unknown>();
    expect(await check(root, {}, state)).toEqual({ status: 'ok', code: 'OK' });
    await rewrite(root, { 'pids/pids.current': '1\n' });
    expect(await check(root, { pidsRatio: { warn: 0 } }, state)).toEqual({ status: 'ok', code: 'OK' }); // pids.max is "max"
  });

  it('reports MEM_PRESSURE from usage_in_bytes minus total_inactive_file against limit_in_bytes', async () => {
    const root = await tree('v1', { 'memory/memory.limit_in_bytes': '104857600\n', 'memory/memory.usage_in_bytes': `${104857600}\n` });
    // 100 MiB - 10 MiB inactive = 0.9 of the limit
    expect(await check(root)).toMatchObject({ status: 'warn', code: 'MEM_PRESSURE', details: { version: 'v1', memoryRatio: 0.9 } });
  });

  it('reports OOM_KILLED when memory.oom_control oom_kill grows', async () => {
    const root = await tree('v1');
    const state = new Map<string, unknown>();
    expect(await check(root, {}, state)).toEqual({ status: 'ok', code: 'OK' });
    await rewrite(root, { 'memory/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n' });
    expect(await check(root, {}, state)).toMatchObject({ status: 'fail', code: 'OOM_KILLED', details: { oomKillsNew: 1 } });
  });

  it('reports CPU_THROTTLED from cpu,cpuacct/cpu.stat deltas', async () => {
    const root = await tree('v1');
    const state = new Map<string, unknown>();
    expect(await check(root, {}, state)).toEqual({ status: 'ok', code: 'OK' });
    await rewrite(root, { 'cpu,cpuacct/cpu.stat': 'nr_periods 1100\nnr_throttled 90\nthrottled_time 1\n' });
    expect(await check(root, {}, state)).toMatchObject({ status: 'fail', code: 'CPU_THROTTLED', details: { cpuThrottledRatio: 0.8 } });
  });

  it('reports PIDS_EXHAUSTED from pids/pids.current against pids.max', async () => {
    expect(await check(await tree('v1', { 'pids/pids.max': '100\n', 'pids/pids.current': '99\n' }))).toMatchObject({ status: 'fail', code: 'PIDS_EXHAUSTED' });
  });
});

const hostCgroup = await stat('/sys/fs/cgroup').then(
  () => true,
  () => false,
);
describe.skipIf(!hostCgroup)(`cgroup check on this machine's /sys/fs/cgroup${hostCgroup ? '' : ' (skipped: no /sys/fs/cgroup)'}`, () => {
  it('reads the real hierarchy and decides (never unknown)', async () => {
    const state = new Map<string, unknown>();
    await check('/sys/fs/cgroup', {}, state);
    const out = await check('/sys/fs/cgroup', {}, state);
    expect(out.status, JSON.stringify(out)).not.toBe('unknown');
  });
});
