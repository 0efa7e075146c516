import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type * as z from 'zod/mini';
import { FileSpec } from '../src/protocol/checks/filesystem-specs.ts';
import { ms, parseBytes } from '../src/units.ts';
import { fail, ok, unknown, warn, type CheckContext, type CheckDefinition, type Outcome } from './check.ts';
import { errorCode, errorMessage } from './error-code.ts';

type Spec = z.output<typeof FileSpec>;

/**
 * `file`: exists, can be opened for reading, is non-empty, was modified recently enough, and has the expected
 * sha256. The hash is streamed from the handle that was opened (what is checked is what was read), and only for
 * files up to maxHashBytes, so a misconfigured check never reads gigabytes every interval.
 */
export const fileCheck: CheckDefinition<'file'> = {
  kind: 'file',
  spec: FileSpec,
  paths: (spec) => [spec.path],
  async run(spec, ctx) {
    let st: Stats;
    try {
      st = await stat(spec.path);
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return fail('FILE_MISSING', `${spec.path} does not exist`);
      if (code === 'EACCES') return fail('FILE_UNREADABLE', `${spec.path} cannot be reached: EACCES`);
      return unknown('CHECK_ERROR', `cannot stat ${spec.path}: ${errorMessage(err)}`);
    }
    if (st.isDirectory()) return unknown('CHECK_MISCONFIGURED', `${spec.path} is a directory, not a file`);
    let fh: FileHandle;
    try {
      fh = await open(spec.path, 'r');
    } catch (err) {
      return fail('FILE_UNREADABLE', `${spec.path} cannot be opened for reading: ${errorCode(err) ?? errorMessage(err)}`);
    }
    try {
      return await inspect(spec, ctx, fh, st);
    } finally {
      await fh.close().catch(() => undefined);
    }
  },
};

async function inspect(spec: Spec, ctx: CheckContext, fh: FileHandle, st: Stats): Promise<Outcome> {
  const ageMs = Math.max(0, ctx.now() - st.mtimeMs);
  const details = { sizeBytes: st.size, ageSeconds: Math.round(ageMs / 1000) };
  if (spec.nonEmpty && st.size === 0) return fail('FILE_EMPTY', `${spec.path} is empty`, details);
  if (spec.sha256) {
    const limit = parseBytes(spec.maxHashBytes) ?? 0;
    if (st.size > limit) return tooBig(spec, st.size, limit);
    let digest: string | undefined;
    try {
      digest = await sha256Of(fh, limit, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', `aborted while hashing ${spec.path}`);
      return fail('FILE_UNREADABLE', `${spec.path} could not be read: ${errorCode(err) ?? errorMessage(err)}`, details);
    }
    if (digest === undefined) return tooBig(spec, limit + 1, limit);
    if (digest !== spec.sha256) return fail('FILE_CHECKSUM', `${spec.path} sha256 is ${digest}, expected ${spec.sha256}`, { ...details, sha256: digest });
  }
  const maxAge = spec.maxAge === undefined ? undefined : ms(spec.maxAge);
  const warnAge = spec.warnAge === undefined ? undefined : ms(spec.warnAge);
  if (maxAge !== undefined && ageMs > maxAge) return fail('FILE_STALE', `${spec.path} was last modified ${details.ageSeconds}s ago, more than ${spec.maxAge}`, details);
  if (warnAge !== undefined && ageMs > warnAge) return warn('FILE_STALE', `${spec.path} was last modified ${details.ageSeconds}s ago, more than ${spec.warnAge}`, details);
  return ok();
}

/** The hex sha256 of the handle's content, or undefined when it holds more than `limit` bytes (it grew). */
async function sha256Of(fh: FileHandle, limit: number, signal: AbortSignal): Promise<string | undefined> {
  // node:crypto (about 1 MB of private memory) loads only for a file check that has a checksum to compare.
  const hash = process.getBuiltinModule('node:crypto').createHash('sha256');
  let total = 0;
  // end is inclusive: reading one byte past the limit tells a file that grew since stat from one that did not.
  for await (const chunk of fh.createReadStream({ start: 0, end: limit, autoClose: false, signal }) as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) return undefined;
    hash.update(chunk);
  }
  return hash.digest('hex');
}

function tooBig(spec: Spec, size: number, limit: number): Outcome {
  return unknown('CHECK_MISCONFIGURED', `${spec.path} is ${size} bytes, more than maxHashBytes ${limit}; raise maxHashBytes or drop sha256`, {
    sizeBytes: size,
  });
}
