import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The container's limits and usage as its cgroup reports them; undefined where there is no limit or no file. */
export interface CgroupStats {
  /** CPU quota in cores (cpu.max or cfs_quota/cfs_period); undefined when unlimited. */
  cpuQuotaCores: number | undefined;
  memoryCurrent: number | undefined;
  /** undefined when unlimited ("max"). */
  memoryMax: number | undefined;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

function num(text: string | undefined): number | undefined {
  if (text === undefined || text === 'max' || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Reads cgroup v2 (`cpu.max`, `memory.current`, `memory.max`) under `root`, falling back to v1 (`cpu/cpu.cfs_*`,
 * `memory/memory.usage_in_bytes`, `memory/memory.limit_in_bytes`). A v1 limit near 2^63 means unlimited.
 */
export async function readCgroup(root: string): Promise<CgroupStats> {
  const [cpuMax, memCurrent, memMax] = await Promise.all([readText(join(root, 'cpu.max')), readText(join(root, 'memory.current')), readText(join(root, 'memory.max'))]);
  let cpuQuotaCores: number | undefined;
  if (cpuMax !== undefined) {
    const [quota, period] = cpuMax.split(/\s+/);
    const q = num(quota);
    const p = num(period) ?? 100_000;
    if (q !== undefined && p > 0) cpuQuotaCores = q / p;
  } else {
    const q = num(await readText(join(root, 'cpu', 'cpu.cfs_quota_us')));
    const p = num(await readText(join(root, 'cpu', 'cpu.cfs_period_us')));
    if (q !== undefined && q > 0 && p !== undefined && p > 0) cpuQuotaCores = q / p;
  }
  if (memCurrent !== undefined || memMax !== undefined) return { cpuQuotaCores, memoryCurrent: num(memCurrent), memoryMax: num(memMax) };
  const v1Current = num(await readText(join(root, 'memory', 'memory.usage_in_bytes')));
  let v1Max = num(await readText(join(root, 'memory', 'memory.limit_in_bytes')));
  if (v1Max !== undefined && v1Max >= 2 ** 60) v1Max = undefined;
  return { cpuQuotaCores, memoryCurrent: v1Current, memoryMax: v1Max };
}
