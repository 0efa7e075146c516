import { open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from '../src/agent/random-bytes.ts';

/** fsyncs a directory so a rename in it survives a power cut; some filesystems refuse, which is fine. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // EISDIR/EINVAL on filesystems without directory fsync: the rename is still atomic.
  } finally {
    await fh?.close();
  }
}

/**
 * Replaces `path` with `data` atomically: write a sibling temp file, fsync it, rename over the target, fsync the
 * directory. A reader (or a daemon restarted after SIGKILL) sees the old content or the new, never half of it.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}
