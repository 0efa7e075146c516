import { open, realpath, stat, statfs, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type * as z from 'zod/mini';
import { randomBytes } from '../src/agent/random-bytes.ts';
import { DiskSpec } from '../src/protocol/checks/filesystem-specs.ts';
import { parseBytes } from '../src/units.ts';
import { fail, ok, unknown, warn, type CheckDefinition, type Outcome } from './check.ts';
import { errorCode, errorMessage } from './error-code.ts';
import { mountContaining, readMountinfo, type MountEntry } from './mountinfo.ts';

type Spec = z.output<typeof DiskSpec>;
type Details = NonNullable<Outcome['details']>;

/** Where the kernel says which mounts are read-only: Node's statfs does not expose f_flags (ST_RDONLY). */
const MOUNTINFO = '/proc/self/mountinfo';
const PROBE_BYTES = Buffer.from('podpulse disk probe\n');

/**
 * `disk`: the path exists; when `writable`, a uniquely named probe file can be created, written, fsynced and
 * deleted (the only honest test of a volume that claims to be writable), and its mount is not read-only; free
 * space, free % and free inodes stay above the thresholds (strictly below a threshold is a finding). A full disk
 * that makes the probe fail with ENOSPC is reported as DISK_LOW_SPACE (or DISK_LOW_INODES), the cause.
 */
export const diskCheck: CheckDefinition<'disk'> = {
  kind: 'disk',
  spec: DiskSpec,
  paths: (spec) => [spec.path],
  async run(spec, ctx) {
    try {
      const st = await stat(spec.path);
      if (!st.isDirectory()) return unknown('CHECK_MISCONFIGURED', `disk path ${spec.path} is not a directory`);
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return fail('DISK_MISSING', `${spec.path} does not exist`);
      return unknown('CHECK_ERROR', `cannot stat ${spec.path}: ${errorMessage(err)}`);
    }
    let details: Details;
    try {
      details = spaceDetails(await statfs(spec.path));
    } catch (err) {
      return unknown('CHECK_ERROR', `cannot statfs ${spec.path}: ${errorMessage(err)}`);
    }
    if (spec.writable) {
      const mount = await mountOf(spec.path, ctx.signal);
      if (mount?.readOnly) return fail('DISK_READ_ONLY', `${spec.path} is on a read-only mount (${mount.mountPoint}, ${mount.fstype})`, details);
      const probeError = await probeWrite(spec.path);
      if (probeError) return probeFailure(spec, probeError, details);
    }
    return spaceOutcome(spec, details);
  },
};

function spaceDetails(fs: { bsize: number; blocks: number; bavail: number; files: number; ffree: number }): Details {
  // Pseudo filesystems report zero blocks or inodes: a percentage of nothing is not a finding.
  return {
    freeBytes: fs.bavail * fs.bsize,
    totalBytes: fs.blocks * fs.bsize,
    freePercent: fs.blocks > 0 ? round2((fs.bavail / fs.blocks) * 100) : null,
    freeInodesPercent: fs.files > 0 ? round2((fs.ffree / fs.files) * 100) : null,
    freeInodes: fs.ffree,
  };
}

function spaceOutcome(spec: Spec, d: Details): Outcome {
  const freeBytes = d.freeBytes as number;
  const freePct = d.freePercent as number | null;
  const inodePct = d.freeInodesPercent as number | null;
  const failBytes = spec.failFreeBytes === undefined ? undefined : parseBytes(spec.failFreeBytes);
  if (failBytes !== undefined && freeBytes < failBytes) return fail('DISK_LOW_SPACE', `${spec.path}: ${freeBytes} bytes free, below ${failBytes}`, d);
  if (freePct !== null && freePct < spec.failFreePercent) return fail('DISK_LOW_SPACE', `${spec.path}: ${freePct}% free, below ${spec.failFreePercent}%`, d);
  if (inodePct !== null && inodePct < spec.failFreeInodesPercent)
    return fail('DISK_LOW_INODES', `${spec.path}: ${inodePct}% inodes free, below ${spec.failFreeInodesPercent}%`, d);
  if (freePct !== null && freePct < spec.warnFreePercent) return warn('DISK_LOW_SPACE', `${spec.path}: ${freePct}% free, below ${spec.warnFreePercent}%`, d);
  if (inodePct !== null && inodePct < spec.warnFreeInodesPercent)
    return warn('DISK_LOW_INODES', `${spec.path}: ${inodePct}% inodes free, below ${spec.warnFreeInodesPercent}%`, d);
  return ok();
}

/** The mount holding the path, or undefined when mountinfo cannot be read (then the probe alone decides). */
async function mountOf(dir: string, signal: AbortSignal): Promise<MountEntry | undefined> {
  try {
    return mountContaining(await readMountinfo(MOUNTINFO, signal), await realpath(dir));
  } catch {
    return undefined;
  }
}

interface ProbeError {
  step: 'create' | 'write' | 'fsync' | 'close' | 'delete';
  err: unknown;
}

/** Creates, writes, fsyncs, closes and deletes a probe file; cleans up on every path; returns the first failure. */
async function probeWrite(dir: string): Promise<ProbeError | undefined> {
  const file = path.join(dir, `.podpulse-probe-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fh: FileHandle | undefined;
  let step: ProbeError['step'] = 'create';
  let failure: ProbeError | undefined;
  try {
    fh = await open(file, 'wx', 0o600);
    step = 'write';
    await fh.write(PROBE_BYTES);
    step = 'fsync';
    await fh.sync();
    step = 'close';
    const closing = fh;
    fh = undefined;
    await closing.close();
    step = 'delete';
    await unlink(file);
    return undefined;
  } catch (err) {
    failure = { step, err };
  } finally {
    if (fh) await fh.close().catch(() => undefined);
  }
  if (failure.step !== 'create' && failure.step !== 'delete') await unlink(file).catch(() => undefined);
  return failure;
}

function probeFailure(spec: Spec, { step, err }: ProbeError, details: Details): Outcome {
  const code = errorCode(err);
  const what = `probe file ${step} in ${spec.path} failed: ${code ?? errorMessage(err)}`;
  const d = { ...details, probeStep: step, probeError: code ?? null };
  if (code === 'EROFS') return fail('DISK_READ_ONLY', what, d);
  // A full disk shows up here first: name the cause rather than the symptom.
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const inodes = details.freeInodesPercent as number | null;
    const outOfInodes = details.freeInodes === 0 || (inodes !== null && inodes < spec.failFreeInodesPercent);
    return fail(outOfInodes ? 'DISK_LOW_INODES' : 'DISK_LOW_SPACE', what, d);
  }
  return fail('DISK_NOT_WRITABLE', what, d);
}

const round2 = (n: number) => Math.round(n * 100) / 100;
