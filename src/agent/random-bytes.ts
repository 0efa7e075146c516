import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Random bytes from the kernel's `/dev/urandom`, the source `node:crypto` draws from too. The agent needs only a
 * boot id and unique probe-file names, and loading `node:crypto` for them costs about 1 MB of private memory in
 * every worker (docs/worker-footprint.md); where `/dev/urandom` cannot be read, `node:crypto` is the fallback.
 */
export function randomBytes(size: number): Buffer {
  const out = Buffer.alloc(size);
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      for (let n = 0; n < size; ) {
        const read = readSync(fd, out, n, size - n, null);
        if (read === 0) throw new Error('/dev/urandom: end of file');
        n += read;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  } catch {
    return process.getBuiltinModule('node:crypto').randomBytes(size);
  }
}

/** A random (version 4) UUID. */
export function randomUuid(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
