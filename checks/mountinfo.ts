import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** One line of /proc/<pid>/mountinfo (proc(5)), with the octal escapes of paths decoded. */
export interface MountEntry {
  mountPoint: string;
  /** The root of the mount within its filesystem (a bind mount of a subdirectory has a non-`/` root). */
  root: string;
  fstype: string;
  source: string;
  mountOptions: string[];
  superOptions: string[];
  /** `ro` in the per-mount or the superblock options. */
  readOnly: boolean;
}

/**
 * The kernel escapes space, tab, newline and backslash in mountinfo paths as `\040`, `\011`, `\012`, `\134`
 * (fs/proc_namespace.c mangle()); a volume path with a space would otherwise never match.
 */
export function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Parses mountinfo text; malformed lines are skipped (the file is the kernel's, but a fixture may be sloppy). */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    // id parent major:minor root mount-point options [optional fields...] - fstype source super-options
    const sep = fields.indexOf('-', 6);
    if (fields.length < 10 || sep < 0 || sep + 2 >= fields.length) continue;
    const mountOptions = fields[5]!.split(',');
    const superOptions = (fields[sep + 3] ?? '').split(',');
    entries.push({
      root: unescapeMountPath(fields[3]!),
      mountPoint: unescapeMountPath(fields[4]!),
      fstype: fields[sep + 1]!,
      source: unescapeMountPath(fields[sep + 2]!),
      mountOptions,
      superOptions,
      readOnly: mountOptions.includes('ro') || superOptions.includes('ro'),
    });
  }
  return entries;
}

/** Reads and parses a mountinfo file. */
export async function readMountinfo(file: string, signal: AbortSignal): Promise<MountEntry[]> {
  return parseMountinfo(await readFile(file, { encoding: 'utf8', signal }));
}

/** A path as mountinfo writes it: absolute, normalised, no trailing slash (except `/`). */
export function normalizeMountPath(p: string): string {
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** The mount at exactly `mountPoint`; with stacked mounts the last one listed is the one visible. */
export function mountAt(entries: readonly MountEntry[], mountPoint: string): MountEntry | undefined {
  const want = normalizeMountPath(mountPoint);
  return entries.findLast((e) => e.mountPoint === want);
}

/** The mount that holds `file` (an already resolved path): the longest mount point that is a prefix of it. */
export function mountContaining(entries: readonly MountEntry[], file: string): MountEntry | undefined {
  const want = normalizeMountPath(file);
  let best: MountEntry | undefined;
  for (const e of entries) {
    const inside = e.mountPoint === '/' || want === e.mountPoint || want.startsWith(`${e.mountPoint}/`);
    if (inside && (!best || e.mountPoint.length >= best.mountPoint.length)) best = e;
  }
  return best;
}
