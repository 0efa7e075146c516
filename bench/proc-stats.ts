// Per-process figures read from /proc, shared by the footprint benchmarks.
import { readFileSync } from 'node:fs';

/** Linux USER_HZ, fixed for /proc on every architecture podpulse targets. */
export const CLK_TCK = 100;

/** utime + stime in clock ticks. Fields after the parenthesised command name: utime is field 14, stime 15. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** Memory from /proc/PID/smaps_rollup, in kB: Pss, Pss_Anon, USS (private clean + dirty) and RSS. */
export function memoryKb(pid: number): { pssKb: number; pssAnonKb: number; ussKb: number; rssKb: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { pssKb: kb('Pss'), pssAnonKb: kb('Pss_Anon'), ussKb: kb('Private_Clean') + kb('Private_Dirty'), rssKb: kb('Rss') };
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
