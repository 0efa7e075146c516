import { open, opendir } from 'node:fs/promises';
import { MountSpec } from '../src/protocol/checks/filesystem-specs.ts';
import { boundedList } from './bounded-text.ts';
import { fail, ok, unknown, type CheckContext, type CheckDefinition, type Outcome } from './check.ts';
import { errorCode, errorMessage } from './error-code.ts';
import { mountAt, readMountinfo, type MountEntry } from './mountinfo.ts';
import { ABORTED, raceAbort } from './race-abort.ts';

/** ctx.state key: a liveness operation of an earlier run that has not answered yet. */
const PENDING = 'mount.livenessPending';

/**
 * `mount`: the path is a mount point in mountinfo, of an expected type and mode, and it answers.
 *
 * The path is compared as written (normalised), not resolved: resolving it would touch the mount, which may hang.
 *
 * Liveness is `open(path, O_RDONLY)`, `fstat`, and for a directory the first readdir entry. A hung NFS or FUSE
 * server blocks the open's lookup in a libuv threadpool thread; no deadline can cancel that, so the operation is
 * raced against ctx.signal and the check reports MOUNT_HUNG itself when the signal fires first, leaving the call
 * pending (the runner's per-path guard, and the PENDING mark here, start no new one until it returns). open()
 * rather than stat() is deliberate: it blocks the same way on a dead server, and it also blocks on a FIFO with no
 * writer, which lets tests make the operation really hang without a FUSE daemon.
 */
export const mountCheck: CheckDefinition<'mount'> = {
  kind: 'mount',
  spec: MountSpec,
  paths: (spec) => [spec.path],
  async run(spec, ctx) {
    let mount: MountEntry | undefined;
    try {
      mount = mountAt(await readMountinfo(spec.mountinfo, ctx.signal), spec.path);
    } catch (err) {
      if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', `aborted while reading ${spec.mountinfo}`);
      const code = errorCode(err);
      if (code === 'ENOENT') return unknown('NOT_SUPPORTED', `${spec.mountinfo} does not exist`);
      return unknown('CHECK_ERROR', `cannot read ${spec.mountinfo}: ${errorMessage(err)}`);
    }
    if (!mount) return fail('MOUNT_MISSING', `${spec.path} is not a mount point`);
    const details = { fstype: mount.fstype, source: mount.source, readOnly: mount.readOnly };
    if (spec.fstype && !spec.fstype.includes(mount.fstype))
      return fail('MOUNT_FSTYPE', `${spec.path} is ${mount.fstype}, expected one of ${boundedList(spec.fstype)}`, details);
    if (spec.mode === 'rw' && mount.readOnly) return fail('MOUNT_READ_ONLY', `${spec.path} is mounted read-only`, details);
    if (spec.mode === 'ro' && !mount.readOnly) return fail('MOUNT_READ_WRITE', `${spec.path} is mounted read-write`, details);
    return liveness(spec.path, ctx, details);
  },
};

async function liveness(mountPoint: string, ctx: CheckContext, details: Record<string, string | boolean | null>): Promise<Outcome> {
  const hung = () => fail('MOUNT_HUNG', `${mountPoint} did not answer open/stat/readdir before the deadline`, details);
  if (ctx.state.get(PENDING) === true) return hung();
  if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', 'the deadline passed before the liveness probe started');
  ctx.state.set(PENDING, true);
  const op = touch(mountPoint).finally(() => ctx.state.delete(PENDING));
  try {
    const result = await raceAbort(op, ctx.signal);
    return result === ABORTED ? hung() : ok();
  } catch (err) {
    const code = errorCode(err);
    // Permissions are this pod's configuration, not the mount's health.
    if (code === 'EACCES' || code === 'EPERM') return unknown('CHECK_MISCONFIGURED', `cannot open ${mountPoint}: ${code}`, details);
    // A dead server or FUSE daemon often answers at once with ESTALE, EIO or ENOTCONN: as unusable as a hang.
    return fail('MOUNT_HUNG', `${mountPoint} answered with an error: ${code ?? errorMessage(err)}`, { ...details, error: code ?? null });
  }
}

/** open, fstat, first readdir entry; the handle is closed however late the open returns. */
async function touch(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const st = await fh.stat();
    if (!st.isDirectory()) return;
    const dir = await opendir(file, { bufferSize: 1 });
    try {
      await dir.read();
    } finally {
      await dir.close();
    }
  } finally {
    await fh.close();
  }
}
