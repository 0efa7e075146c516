import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountCheck } from '../../../checks/mount-check.ts';
import { parseMountinfo } from '../../../checks/mountinfo.ts';
import { checkContext } from '../../helpers/check-context.ts';

const run = promisify(execFile);

let tmp: string;
let mountinfo: string;
let nfsDir: string;
let roDir: string;
let fifo: string;

/** mountinfo escapes a space in a path as \040 (proc(5)). */
const escape = (p: string) => p.replace(/ /g, '\\040');

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'podpulse-mount-'));
  nfsDir = path.join(tmp, 'shared data');
  roDir = path.join(tmp, 'config');
  fifo = path.join(tmp, 'hung-nfs');
  await mkdir(nfsDir);
  await mkdir(roDir);
  await writeFile(path.join(nfsDir, 'a'), 'x');
  await run('mkfifo', [fifo]);
  mountinfo = path.join(tmp, 'mountinfo');
  await writeFile(
    mountinfo,
    [
      '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
      `101 27 0:52 / ${escape(nfsDir)} rw,relatime shared:7 - nfs4 10.0.0.5:/export\\040one rw,vers=4.1`,
      `102 27 0:53 / ${escape(roDir)} ro,relatime - tmpfs tmpfs ro,size=1024k`,
      // The FIFO stands in for a dead NFS server: open() blocks in the threadpool until a writer appears.
      `103 27 0:54 / ${escape(fifo)} rw,relatime - nfs4 10.0.0.6:/gone rw`,
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const check = (input: Record<string, unknown>, timeoutMs?: number, state?: Map<string, unknown>) =>
  mountCheck.run(mountCheck.spec.parse({ mountinfo, ...input }), checkContext({ ...(timeoutMs ? { timeoutMs } : {}), ...(state ? { state } : {}) }));

describe('mount check against a fixture mountinfo', () => {
  it('parses octal escapes in mount points and sources', () => {
    const entries = parseMountinfo('27 1 254:0 / / rw - ext4 /dev/vda rw\nnot a mountinfo line\n101 27 0:52 / /a\\040b\\134c rw - nfs4 srv:/x\\040y rw\n');
    expect(entries).toHaveLength(2);
    expect(entries[1]).toMatchObject({ mountPoint: '/a b\\c', source: 'srv:/x y', fstype: 'nfs4', readOnly: false });
  });

  it('is ok when the path is a mount of the expected type and mode and answers', async () => {
    expect(await check({ path: nfsDir, fstype: ['nfs', 'nfs4'], mode: 'rw' })).toEqual({ status: 'ok', code: 'OK' });
    expect(await check({ path: `${nfsDir}/` })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports MOUNT_MISSING when the path is not a mount point', async () => {
    expect(await check({ path: path.join(tmp, 'elsewhere') })).toMatchObject({ status: 'fail', code: 'MOUNT_MISSING' });
  });

  it('reports MOUNT_FSTYPE when the filesystem type is not an expected one', async () => {
    const out = await check({ path: nfsDir, fstype: ['ext4', 'xfs'] });
    expect(out).toMatchObject({ status: 'fail', code: 'MOUNT_FSTYPE', details: { fstype: 'nfs4', source: '10.0.0.5:/export one' } });
  });

  it('reports MOUNT_READ_ONLY when read-write was expected', async () => {
    expect(await check({ path: roDir, mode: 'rw' })).toMatchObject({ status: 'fail', code: 'MOUNT_READ_ONLY' });
  });

  it('reports MOUNT_READ_WRITE when read-only was expected', async () => {
    expect(await check({ path: nfsDir, mode: 'ro' })).toMatchObject({ status: 'fail', code: 'MOUNT_READ_WRITE' });
  });

  it('reports unknown NOT_SUPPORTED when the mountinfo file does not exist', async () => {
    expect(await check({ path: nfsDir, mountinfo: path.join(tmp, 'no-mountinfo') })).toMatchObject({ status: 'unknown', code: 'NOT_SUPPORTED' });
  });

  it('reports MOUNT_HUNG at the deadline when open() of the mount never answers, and starts no second call while it is pending', async () => {
    const state = new Map<string, unknown>();
    const started = Date.now();
    const out = await check({ path: fifo }, 500, state);
    const took = Date.now() - started;
    expect(out).toMatchObject({ status: 'fail', code: 'MOUNT_HUNG' });
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(5_000);
    // The next run finds the first call still pending and reports at once.
    const again = Date.now();
    expect(await check({ path: fifo }, 5_000, state)).toMatchObject({ status: 'fail', code: 'MOUNT_HUNG' });
    expect(Date.now() - again).toBeLessThan(1_000);
    // A writer releases the blocked open (and its threadpool thread); the late handle is closed and the mark cleared.
    const writer = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      await expect.poll(() => state.size, { timeout: 10_000 }).toBe(0);
    } finally {
      await writer.close();
    }
  });
});

const mountProblem = await (async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'podpulse-mount-probe-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    await run('umount', [dir]);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message.split('\n')[0] : String(err);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
})();

describe.skipIf(mountProblem !== undefined)(`mount check against a real tmpfs${mountProblem ? ` (skipped: cannot mount tmpfs: ${mountProblem})` : ''}`, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'podpulse-mount tmpfs-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
  });
  afterAll(async () => {
    await run('umount', ['-l', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const real = (input: Record<string, unknown>) => mountCheck.run(mountCheck.spec.parse(input), checkContext());

  it('is ok for a read-write tmpfs found in /proc/self/mountinfo (a path with a space)', async () => {
    expect(await real({ path: dir, fstype: ['tmpfs'], mode: 'rw' })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports MOUNT_MISSING for a directory that is not a mount point', async () => {
    expect(await real({ path: path.join(dir, 'sub') })).toMatchObject({ status: 'fail', code: 'MOUNT_MISSING' });
  });

  it('reports MOUNT_FSTYPE when an NFS volume was expected', async () => {
    expect(await real({ path: dir, fstype: ['nfs4'] })).toMatchObject({ status: 'fail', code: 'MOUNT_FSTYPE', details: { fstype: 'tmpfs' } });
  });

  it('reports MOUNT_READ_WRITE, then MOUNT_READ_ONLY after a remount read-only', async () => {
    expect(await real({ path: dir, mode: 'ro' })).toMatchObject({ status: 'fail', code: 'MOUNT_READ_WRITE' });
    await run('mount', ['-o', 'remount,ro', dir]);
    try {
      expect(await real({ path: dir, mode: 'rw' })).toMatchObject({ status: 'fail', code: 'MOUNT_READ_ONLY' });
      expect(await real({ path: dir, mode: 'ro' })).toEqual({ status: 'ok', code: 'OK' });
    } finally {
      await run('mount', ['-o', 'remount,rw', dir]);
    }
  });
});
