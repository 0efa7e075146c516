import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCgroup } from '../../../daemon/cgroup.ts';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cgroup-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), `${text}\n`);
  }
  return root;
}

describe('readCgroup', () => {
  it('reads a cgroup v2 quota and memory limit', async () => {
    expect(await readCgroup(tree({ 'cpu.max': '50000 100000', 'memory.current': '1048576', 'memory.max': '4194304' }))).toEqual({ cpuQuotaCores: 0.5, memoryCurrent: 1048576, memoryMax: 4194304 });
  });

  it('treats "max" as no limit', async () => {
    expect(await readCgroup(tree({ 'cpu.max': 'max 100000', 'memory.current': '10', 'memory.max': 'max' }))).toEqual({ cpuQuotaCores: undefined, memoryCurrent: 10, memoryMax: undefined });
  });

  it('falls back to cgroup v1 files, where -1 and a huge limit mean unlimited', async () => {
    expect(await readCgroup(tree({ 'cpu/cpu.cfs_quota_us': '200000', 'cpu/cpu.cfs_period_us': '100000', 'memory/memory.usage_in_bytes': '5', 'memory/memory.limit_in_bytes': '100' }))).toEqual({ cpuQuotaCores: 2, memoryCurrent: 5, memoryMax: 100 });
    expect(await readCgroup(tree({ 'cpu/cpu.cfs_quota_us': '-1', 'cpu/cpu.cfs_period_us': '100000', 'memory/memory.usage_in_bytes': '5', 'memory/memory.limit_in_bytes': '9223372036854771712' }))).toEqual({ cpuQuotaCores: undefined, memoryCurrent: 5, memoryMax: undefined });
  });

  it('reports nothing when there is no cgroup tree', async () => {
    expect(await readCgroup(join(tmpdir(), 'no-such-cgroup'))).toEqual({ cpuQuotaCores: undefined, memoryCurrent: undefined, memoryMax: undefined });
  });
});
