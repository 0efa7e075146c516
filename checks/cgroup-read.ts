import { stat } from 'node:fs/promises';
import path from 'node:path';
import { errorCode } from './error-code.ts';
import { readPseudoFile } from './pseudo-file.ts';

/** PSI averages over 10 s, in percent; `full` is absent where the kernel does not report it. */
export interface Psi {
  some?: number | undefined;
  full?: number | undefined;
}

/** What one read of a cgroup found; a signal whose files are missing or unreadable is left out. */
export interface CgroupReading {
  version: 'v1' | 'v2';
  /** Working set (usage minus inactive file cache, as the kubelet counts it) and the limit; null = no limit. */
  memory?: { usage: number; limit: number | null };
  oomKills?: number;
  cpu?: { periods: number; throttled: number };
  psi: { cpu?: Psi; memory?: Psi; io?: Psi };
  pids?: { current: number; max: number | null };
}

/** cgroup v1 writes "no limit" as the largest page-aligned int64 (9223372036854771712); anything this big is none. */
const V1_UNLIMITED = 2 ** 60;
const V1_CPU_DIRS = ['cpu', 'cpu,cpuacct', 'cpuacct,cpu'];

/** v2 has cgroup.controllers at the root; v1 has one directory per controller. undefined: neither is here. */
export async function detectVersion(root: string, wanted: 'auto' | 'v1' | 'v2'): Promise<'v1' | 'v2' | undefined> {
  if (wanted !== 'auto') return wanted;
  if (await exists(path.join(root, 'cgroup.controllers'))) return 'v2';
  for (const dir of ['memory', ...V1_CPU_DIRS, 'pids']) if (await exists(path.join(root, dir))) return 'v1';
  return undefined;
}

/** Reads every signal the version exposes under root. */
export async function readCgroup(root: string, version: 'v1' | 'v2', signal: AbortSignal): Promise<CgroupReading> {
  const read = (...parts: string[]) => readText(path.join(root, ...parts), signal);
  const reading: CgroupReading = { version, psi: {} };
  if (version === 'v2') {
    const [current, max, memStat, events, cpuStat, pcpu, pmem, pio, pidsCur, pidsMax] = await Promise.all(
      ['memory.current', 'memory.max', 'memory.stat', 'memory.events', 'cpu.stat', 'cpu.pressure', 'memory.pressure', 'io.pressure', 'pids.current', 'pids.max'].map(
        (f) => read(f),
      ),
    );
    reading.memory = memory(current, max, memStat, 'inactive_file', (n) => n);
    reading.oomKills = events === undefined ? undefined : keyValues(events).get('oom_kill');
    reading.cpu = cpu(cpuStat);
    reading.psi = { cpu: parsePsi(pcpu), memory: parsePsi(pmem), io: parsePsi(pio) };
    reading.pids = pids(pidsCur, pidsMax);
  } else {
    const [usage, limit, memStat, oomControl, pidsCur, pidsMax, ...cpuStats] = await Promise.all([
      read('memory', 'memory.usage_in_bytes'),
      read('memory', 'memory.limit_in_bytes'),
      read('memory', 'memory.stat'),
      read('memory', 'memory.oom_control'),
      read('pids', 'pids.current'),
      read('pids', 'pids.max'),
      ...V1_CPU_DIRS.map((d) => read(d, 'cpu.stat')),
    ]);
    reading.memory = memory(usage, limit, memStat, 'total_inactive_file', (n) => (n >= V1_UNLIMITED ? null : n));
    // oom_kill is in memory.oom_control since Linux 4.13.
    reading.oomKills = oomControl === undefined ? undefined : keyValues(oomControl).get('oom_kill');
    reading.cpu = cpu(cpuStats.find((s) => s !== undefined));
    // PSI per cgroup exists only in v2 (v1 needs the psi_v1 boot option): not read here.
    reading.pids = pids(pidsCur, pidsMax);
  }
  return reading;
}

function memory(usageText: string | undefined, limitText: string | undefined, statText: string | undefined, inactiveKey: string, limitOf: (n: number) => number | null) {
  const usage = num(usageText);
  if (usage === undefined) return undefined;
  const limitRaw = limitText?.trim();
  const limitNum = limitRaw === 'max' ? null : num(limitRaw);
  if (limitNum === undefined) return undefined;
  const inactive = statText === undefined ? 0 : (keyValues(statText).get(inactiveKey) ?? 0);
  return { usage: Math.max(0, usage - inactive), limit: limitNum === null ? null : limitOf(limitNum) };
}

function cpu(text: string | undefined) {
  if (text === undefined) return undefined;
  const kv = keyValues(text);
  const periods = kv.get('nr_periods');
  const throttled = kv.get('nr_throttled');
  return periods === undefined || throttled === undefined ? undefined : { periods, throttled };
}

function pids(currentText: string | undefined, maxText: string | undefined) {
  const current = num(currentText);
  const max = maxText?.trim() === 'max' ? null : num(maxText);
  return current === undefined || max === undefined ? undefined : { current, max };
}

/** `key value` lines (memory.stat, memory.events, cpu.stat, memory.oom_control). */
export function keyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    const n = Number(value);
    if (key && value !== undefined && Number.isFinite(n)) out.set(key, n);
  }
  return out;
}

/** `some avg10=1.23 avg60=… avg300=… total=…` and the same for `full`. */
export function parsePsi(text: string | undefined): Psi | undefined {
  if (text === undefined) return undefined;
  const avg10 = (kind: string) => {
    const m = new RegExp(`^${kind} .*\\bavg10=([0-9.]+)`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const psi = { some: avg10('some'), full: avg10('full') };
  return psi.some === undefined && psi.full === undefined ? undefined : psi;
}

function num(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
}

/**
 * A file's text, or undefined when it is missing or the kernel will not serve it (PSI off: EOPNOTSUPP). The handle
 * stays open between runs (cgroupfs never blocks a read, and one pread beats open, fstat, read and close).
 */
async function readText(file: string, signal: AbortSignal): Promise<string | undefined> {
  try {
    signal.throwIfAborted();
    return await readPseudoFile(file);
  } catch (err) {
    if (signal.aborted) throw err;
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EOPNOTSUPP' || code === 'ENODEV' || code === 'EINVAL') return undefined;
    throw err;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
