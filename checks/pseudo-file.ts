import { open, type FileHandle } from 'node:fs/promises';

/** Files kept open at most; a check reads about ten (cgroup) and a pod has one cgroup. */
const MAX_OPEN = 32;
const open_ = new Map<string, FileHandle>();

/**
 * Reads a kernel pseudo-file (cgroupfs, /proc/net) through a handle kept open between runs: one pread at offset 0
 * per read instead of open, fstat, read and close. The kernel regenerates such a file on every read from offset 0,
 * so a kept handle always sees current values. A read that fails on a kept handle drops it and opens the file
 * again once; open errors (ENOENT: the file does not exist here) are the caller's to interpret.
 */
export async function readPseudoFile(file: string): Promise<string> {
  const kept = open_.get(file);
  if (kept) {
    try {
      return await readFrom(kept);
    } catch {
      open_.delete(file);
      await kept.close().catch(() => undefined);
    }
  }
  const fh = await open(file, 'r');
  try {
    const text = await readFrom(fh);
    if (open_.size >= MAX_OPEN) {
      const [oldest, h] = open_.entries().next().value!;
      open_.delete(oldest);
      await h.close().catch(() => undefined);
    }
    open_.set(file, fh);
    return text;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/** Closes every kept handle (tests; a worker keeps them for its life). */
export async function closePseudoFiles(): Promise<void> {
  const all = [...open_.values()];
  open_.clear();
  await Promise.all(all.map((h) => h.close().catch(() => undefined)));
}

async function readFrom(fh: FileHandle): Promise<string> {
  const chunks: Buffer[] = [];
  let position = 0;
  for (;;) {
    // The first read returns most such files whole; the read after it usually only finds the end, and a small
    // buffer from Node's shared pool does for that. A fresh 64 KiB one every time (about ten per cgroup run) churns
    // the malloc heap, which then stays grown (docs/worker-footprint.md). Larger reads only for a file that has more.
    const buffer = Buffer.allocUnsafe(position === 0 ? 4096 : chunks.length === 1 ? 1024 : 65536);
    const { bytesRead } = await fh.read({ buffer, position });
    if (bytesRead === 0) break;
    chunks.push(buffer.subarray(0, bytesRead));
    position += bytesRead;
    if (position > 4 * 1024 * 1024) throw new Error('pseudo-file larger than 4 MiB');
  }
  return Buffer.concat(chunks).toString('utf8');
}
