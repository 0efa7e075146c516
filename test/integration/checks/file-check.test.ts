import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileCheck } from '../../../checks/file-check.ts';
import { checkContext } from '../../helpers/check-context.ts';
import { runUnprivileged } from './run-unprivileged.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'podpulse-file-'));
  await chmod(tmp, 0o755);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const check = (input: Record<string, unknown>) => fileCheck.run(fileCheck.spec.parse(input), checkContext());
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function file(name: string, content: string | Buffer, ageSeconds = 0): Promise<string> {
  const p = path.join(tmp, name);
  await writeFile(p, content);
  if (ageSeconds > 0) {
    const t = (Date.now() - ageSeconds * 1000) / 1000;
    await utimes(p, t, t);
  }
  return p;
}

describe('file check', () => {
  it('is ok for a fresh, non-empty file with the expected sha256', async () => {
    const p = await file('ok.txt', 'hello\n');
    expect(await check({ path: p, nonEmpty: true, warnAge: '1m', maxAge: '5m', sha256: sha256('hello\n') })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports FILE_MISSING when the file does not exist', async () => {
    expect(await check({ path: path.join(tmp, 'nope.txt') })).toMatchObject({ status: 'fail', code: 'FILE_MISSING' });
  });

  it('reports FILE_UNREADABLE when the file cannot be opened for reading', async () => {
    const p = await file('secret.txt', 'x');
    await chmod(p, 0o200);
    const out = await runUnprivileged('file-check.ts', 'fileCheck', { path: p });
    expect(out).toMatchObject({ status: 'fail', code: 'FILE_UNREADABLE' });
    expect(out.message).toContain('EACCES');
  });

  it('reports FILE_EMPTY when nonEmpty is set and the file has no content', async () => {
    const p = await file('empty.txt', '');
    expect(await check({ path: p, nonEmpty: true })).toMatchObject({ status: 'fail', code: 'FILE_EMPTY' });
    expect(await check({ path: p })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports FILE_STALE warn past warnAge and fail past maxAge', async () => {
    const p = await file('old.txt', 'x', 600);
    const warned = await check({ path: p, warnAge: '5m', maxAge: '1h' });
    expect(warned).toMatchObject({ status: 'warn', code: 'FILE_STALE' });
    expect(warned.details!.ageSeconds).toBeGreaterThanOrEqual(600);
    expect(await check({ path: p, warnAge: '1m', maxAge: '5m' })).toMatchObject({ status: 'fail', code: 'FILE_STALE' });
  });

  it('reports FILE_CHECKSUM when the content differs from the expected sha256', async () => {
    const p = await file('changed.txt', 'tampered\n');
    const out = await check({ path: p, sha256: sha256('original\n') });
    expect(out).toMatchObject({ status: 'fail', code: 'FILE_CHECKSUM', details: { sha256: sha256('tampered\n') } });
  });

  it('hashes a file of several chunks the same as crypto does', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'ab');
    const p = await file('big.bin', big);
    expect(await check({ path: p, sha256: createHash('sha256').update(big).digest('hex') })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports unknown CHECK_MISCONFIGURED, without reading it, when the file is larger than maxHashBytes', async () => {
    const p = await file('large.bin', Buffer.alloc(2048));
    const out = await check({ path: p, sha256: sha256(''), maxHashBytes: '1Ki' });
    expect(out).toMatchObject({ status: 'unknown', code: 'CHECK_MISCONFIGURED' });
    expect(out.message).toContain('maxHashBytes');
  });

  it('reports unknown CHECK_MISCONFIGURED when the path is a directory', async () => {
    expect(await check({ path: tmp })).toMatchObject({ status: 'unknown', code: 'CHECK_MISCONFIGURED' });
  });
});
