import { z } from 'zod';
import { absolutePath, byteSize, duration, sha256Hex, str } from '../common.ts';

const percent = z.number().min(0).max(100);

/** `disk`: writability (create, write, fsync, delete a probe file), free bytes, free %, free inodes. */
export const DiskSpec = z.strictObject({
  path: absolutePath,
  writable: z.boolean().default(true),
  warnFreePercent: percent.default(10),
  failFreePercent: percent.default(5),
  failFreeBytes: byteSize.optional(),
  warnFreeInodesPercent: percent.default(10),
  failFreeInodesPercent: percent.default(5),
});

/** `mount`: a mount point (from /proc/self/mountinfo), its type and mode, and that it answers. */
export const MountSpec = z.strictObject({
  path: absolutePath,
  fstype: z.array(str(64, 1)).min(1).max(16).optional(),
  mode: z.enum(['rw', 'ro']).optional(),
  mountinfo: absolutePath.default('/proc/self/mountinfo'),
});

/** `file`: exists, readable, non-empty, fresh, optionally a known sha256. */
export const FileSpec = z.strictObject({
  path: absolutePath,
  nonEmpty: z.boolean().default(false),
  warnAge: duration.optional(),
  maxAge: duration.optional(),
  sha256: sha256Hex.optional(),
  /** The checksum is only computed for files up to this size. */
  maxHashBytes: byteSize.default('64Mi'),
});
