import * as z from 'zod/mini';
import { absolutePath, byteSize, duration, sha256Hex, str } from '../common.ts';

// Built on first parse, like every kind's spec (network-specs.ts).
const percent = () => z.number().check(z.gte(0), z.lte(100));

/** `disk`: writability (create, write, fsync, delete a probe file), free bytes, free %, free inodes. */
export const DiskSpec = z.lazy(() => z.strictObject({
  path: absolutePath,
  writable: z._default(z.boolean(), true),
  warnFreePercent: z._default(percent(), 10),
  failFreePercent: z._default(percent(), 5),
  failFreeBytes: z.optional(byteSize),
  warnFreeInodesPercent: z._default(percent(), 10),
  failFreeInodesPercent: z._default(percent(), 5),
}));

/** `mount`: a mount point (from /proc/self/mountinfo), its type and mode, and that it answers. */
export const MountSpec = z.lazy(() => z.strictObject({
  path: absolutePath,
  fstype: z.optional(z.array(str(64, 1)).check(z.minLength(1), z.maxLength(16))),
  mode: z.optional(z.enum(['rw', 'ro'])),
  mountinfo: z._default(absolutePath, '/proc/self/mountinfo'),
}));

/** `file`: exists, readable, non-empty, fresh, optionally a known sha256. */
export const FileSpec = z.lazy(() => z.strictObject({
  path: absolutePath,
  nonEmpty: z._default(z.boolean(), false),
  warnAge: z.optional(duration),
  maxAge: z.optional(duration),
  sha256: z.optional(sha256Hex),
  /** The checksum is only computed for files up to this size. */
  maxHashBytes: z._default(byteSize, '64Mi'),
}));
