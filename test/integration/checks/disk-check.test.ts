import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, open, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskCheck } from '../../../checks/disk-check.ts';
import { checkContext } from '../../helpers/check-context.ts';
import { runUnprivileged } from './run-unprivileged.ts';

const run = promisify(execFile);
const check = (input: Record<string, unknown>) => diskCheck.run(diskCheck.spec.parse(input), checkContext());
/** Thresholds that never fire, so a case isolates the one finding it is about. */
const NO_THRESHOLDS = { warnFreePercent: 0, failFreePercent: 0, warnFreeInodesPercent: 0, failFreeInodesPercent: 0 };

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'podpulse-disk-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Mounts a fresh tmpfs for one test; the reason when mounting is not permitted here. */
async function mountTmpfs(options: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'podpulse-disk-tmpfs-'));
  await run('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  return dir;
}
async function unmount(dir: string): Promise<void> {
  await run('umount', ['-l', dir]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}
const mountProblem = await mountTmpfs('size=64k').then(
  async (dir) => {
    await unmount(dir);
    return undefined;
  },
  (err: unknown) => (err instanceof Error ? err.message.split('\n')[0] : String(err)),
);

describe('disk check on a temp directory', () => {
  it('is ok when the probe file can be written and no threshold is crossed, and leaves nothing behind', async () => {
    const dir = await mkdtemp(path.join(tmp, 'ok-'));
    expect(await check({ path: dir, ...NO_THRESHOLDS })).toEqual({ status: 'ok', code: 'OK' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports DISK_MISSING when the path does not exist', async () => {
    const out = await check({ path: path.join(tmp, 'nope') });
    expect(out).toMatchObject({ status: 'fail', code: 'DISK_MISSING' });
  });

  it('reports unknown CHECK_MISCONFIGURED when the path is a file', async () => {
    const file = path.join(tmp, 'a-file');
    await writeFile(file, 'x');
    expect(await check({ path: file })).toMatchObject({ status: 'unknown', code: 'CHECK_MISCONFIGURED' });
  });

  it('reports DISK_NOT_WRITABLE when the probe file cannot be created (a directory the user may not write)', async () => {
    const dir = await mkdtemp(path.join(tmp, 'locked-'));
    await chmod(tmp, 0o755);
    await chmod(dir, 0o555);
    const out = await runUnprivileged('disk-check.ts', 'diskCheck', { path: dir, ...NO_THRESHOLDS });
    expect(out).toMatchObject({ status: 'fail', code: 'DISK_NOT_WRITABLE', details: { probeStep: 'create', probeError: 'EACCES' } });
  });

  it('reports DISK_LOW_SPACE warn and fail when free space is below the percent thresholds', async () => {
    const fs = await statfs(tmp);
    expect(fs.bavail).toBeLessThan(fs.blocks); // any used disk is below 100% free
    const warned = await check({ path: tmp, ...NO_THRESHOLDS, warnFreePercent: 100 });
    expect(warned).toMatchObject({ status: 'warn', code: 'DISK_LOW_SPACE' });
    expect(warned.details).toMatchObject({ freeBytes: expect.any(Number), freePercent: expect.any(Number), freeInodesPercent: expect.any(Number) });
    expect(await check({ path: tmp, ...NO_THRESHOLDS, failFreePercent: 100 })).toMatchObject({ status: 'fail', code: 'DISK_LOW_SPACE' });
  });

  it('reports DISK_LOW_SPACE fail when free bytes are below failFreeBytes', async () => {
    expect(await check({ path: tmp, ...NO_THRESHOLDS, failFreeBytes: '1000Ti' })).toMatchObject({ status: 'fail', code: 'DISK_LOW_SPACE' });
  });

  it('reports DISK_LOW_INODES warn and fail when free inodes are below the thresholds', async () => {
    expect(await check({ path: tmp, ...NO_THRESHOLDS, warnFreeInodesPercent: 100 })).toMatchObject({ status: 'warn', code: 'DISK_LOW_INODES' });
    expect(await check({ path: tmp, ...NO_THRESHOLDS, failFreeInodesPercent: 100 })).toMatchObject({ status: 'fail', code: 'DISK_LOW_INODES' });
  });

  it('names the path it touches for the per-path guard', () => {
    expect(diskCheck.paths!(diskCheck.spec.parse({ path: '/data' }))).toEqual(['/data']);
  });
});

describe.skipIf(mountProblem !== undefined)(`disk check on a real tmpfs${mountProblem ? ` (skipped: cannot mount tmpfs: ${mountProblem})` : ''}`, () => {
  it('is ok on an empty tmpfs with the default thresholds', async () => {
    const dir = await mountTmpfs('size=1m');
    try {
      expect(await check({ path: dir })).toEqual({ status: 'ok', code: 'OK' });
    } finally {
      await unmount(dir);
    }
  });

  it('reports DISK_READ_ONLY when the filesystem is remounted read-only', async () => {
    const dir = await mountTmpfs('size=1m');
    try {
      await run('mount', ['-o', 'remount,ro', dir]);
      expect(await check({ path: dir })).toMatchObject({ status: 'fail', code: 'DISK_READ_ONLY' });
      expect(await check({ path: dir, writable: false })).toEqual({ status: 'ok', code: 'OK' });
    } finally {
      await unmount(dir);
    }
  });

  it('reports DISK_LOW_SPACE warn when the tmpfs is filled to about 93%', async () => {
    const dir = await mountTmpfs('size=1m');
    try {
      const fs = await statfs(dir);
      await writeFile(path.join(dir, 'fill'), Buffer.alloc(Math.floor(fs.blocks * 0.93) * fs.bsize));
      const out = await check({ path: dir });
      expect(out).toMatchObject({ status: 'warn', code: 'DISK_LOW_SPACE' });
      expect(out.details!.freePercent).toBeLessThan(10);
    } finally {
      await unmount(dir);
    }
  });

  it('reports DISK_LOW_SPACE fail when the tmpfs is full and the probe write gets ENOSPC', async () => {
    const dir = await mountTmpfs('size=1m');
    try {
      await fillUntilFull(path.join(dir, 'fill'));
      const out = await check({ path: dir });
      expect(out).toMatchObject({ status: 'fail', code: 'DISK_LOW_SPACE' });
      expect(out.details).toMatchObject({ freeBytes: 0, freePercent: 0 });
      expect((await readdir(dir)).filter((f) => f.startsWith('.podpulse-probe'))).toEqual([]);
    } finally {
      await unmount(dir);
    }
  });

  it('reports DISK_LOW_INODES fail when the tmpfs has no inode left', async () => {
    const dir = await mountTmpfs('size=1m,nr_inodes=8');
    try {
      await mkdir(path.join(dir, 'files'));
      for (let i = 0; ; i++) {
        const made = await writeFile(path.join(dir, 'files', `f${i}`), '').then(
          () => true,
          () => false,
        );
        if (!made) break;
      }
      const out = await check({ path: dir });
      expect(out).toMatchObject({ status: 'fail', code: 'DISK_LOW_INODES', details: { freeInodesPercent: 0 } });
    } finally {
      await unmount(dir);
    }
  });
});

async function fillUntilFull(file: string): Promise<void> {
  const fh = await open(file, 'w');
  try {
    const chunk = Buffer.alloc(4096);
    for (;;) await fh.write(chunk);
  } catch {
    // ENOSPC: full.
  } finally {
    await fh.close();
  }
}
