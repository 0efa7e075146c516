import { mkdtempSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closePseudoFiles, readPseudoFile } from '../../../checks/pseudo-file.ts';

afterAll(() => closePseudoFiles());

/** Open descriptors of this process that point at `path`. */
function fdsOn(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

describe('readPseudoFile', () => {
  it('keeps one handle per file and sees content rewritten in place', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'podpulse-pseudo-')), 'memory.current');
    writeFileSync(file, '100\n');
    expect(await readPseudoFile(file)).toBe('100\n');
    writeFileSync(file, '123456789\n');
    expect(await readPseudoFile(file)).toBe('123456789\n');
    expect(fdsOn(file)).toBe(1);
  });

  it('reads a kernel file afresh on every read through the kept handle', async () => {
    const a = await readPseudoFile('/proc/self/stat');
    // Spin so the process's own CPU time (utime + stime) moves on.
    const until = Date.now() + 60;
    while (Date.now() < until);
    const b = await readPseudoFile('/proc/self/stat');
    const ticks = (t: string) => t.slice(t.lastIndexOf(')') + 2).split(' ').slice(11, 13).map(Number).reduce((x, y) => x + y, 0);
    expect(ticks(b)).toBeGreaterThan(ticks(a));
    expect(fdsOn('/proc/' + process.pid + '/stat')).toBe(1);
  });

  it('reads files larger than one buffer, and reports a missing one as ENOENT', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'podpulse-pseudo-')), 'memory.stat');
    const text = Array.from({ length: 2000 }, (_, i) => `key_${i} ${i}`).join('\n');
    writeFileSync(file, text);
    expect(await readPseudoFile(file)).toBe(text);
    await expect(readPseudoFile(join(tmpdir(), 'no-such-pseudo-file'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
