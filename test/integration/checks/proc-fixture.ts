import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** One process in a fixture /proc tree. */
export interface FixtureProc {
  pid: number;
  comm: string;
  state: string;
  argv?: string[];
  /** Open descriptors to list under fd/ (as empty files: only the names count). */
  fds?: number;
  /** The `Max open files` soft and hard limit columns. */
  openFilesLimit?: [string, string];
}

/**
 * Writes a /proc look-alike: `<pid>/stat` in the kernel's format (`pid (comm) state ppid ...`), `cmdline`
 * NUL-separated, and optionally `fd/` and `limits`. Used where a real process cannot be put in the wanted state.
 */
export async function writeProcTree(root: string, procs: readonly FixtureProc[]): Promise<void> {
  for (const p of procs) {
    const dir = path.join(root, String(p.pid));
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'stat'), `${p.pid} (${p.comm}) ${p.state} 1 ${p.pid} ${p.pid} 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 100 1000 10\n`);
    await writeFile(path.join(dir, 'cmdline'), p.argv && p.argv.length > 0 ? `${p.argv.join('\0')}\0` : '');
    if (p.fds !== undefined) {
      await mkdir(path.join(dir, 'fd'));
      for (let fd = 0; fd < p.fds; fd++) await writeFile(path.join(dir, 'fd', String(fd)), '');
    }
    if (p.openFilesLimit) {
      const [soft, hard] = p.openFilesLimit;
      await writeFile(
        path.join(dir, 'limits'),
        [
          'Limit                     Soft Limit           Hard Limit           Units     ',
          'Max cpu time              unlimited            unlimited            seconds   ',
          `Max open files            ${soft.padEnd(21)}${hard.padEnd(21)}files     `,
          'Max processes             63704                63704                processes ',
          '',
        ].join('\n'),
      );
    }
  }
}
