import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { open, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { errorCode } from './error-code.ts';

/** A process as /proc shows it. */
export interface ProcInfo {
  pid: number;
  /** The kernel's command name (`comm`, at most 15 characters). */
  comm: string;
  /** One letter: R, S, D, Z (zombie), T, X... */
  state: string;
  /** The command line; empty for kernel threads, zombies, and where the scan did not need it (see argvNeeded). */
  argv: string[];
}

/** How a spec picks processes: by name, by a pattern over the command line, or both (both must match). */
export interface ProcessMatch {
  name?: string | undefined;
  cmdline?: string | undefined;
}

/** Reads at most this many processes at once, to bound open files and memory in a pod with many processes. */
const CONCURRENCY = 16;
const TASK_COMM_LEN = 15;
/** PF_KTHREAD in the `flags` field of `<pid>/stat`: a kernel thread, which has no command line. */
const PF_KTHREAD = 0x00200000;

/**
 * Parses `/proc/<pid>/stat`. The name sits in parentheses and may itself hold spaces and parentheses (a process
 * can name itself anything), so it runs from the first `(` to the LAST `)`; the state follows that `)`, and the
 * flags are the seventh field after it.
 */
export function parseProcStat(text: string): { comm: string; state: string; kernelThread: boolean } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open || text[close + 1] !== ' ') return undefined;
  const state = text.charAt(close + 2);
  const flags = Number(text.slice(close + 2).split(' ', 7)[6]);
  return state ? { comm: text.slice(open + 1, close), state, kernelThread: (flags & PF_KTHREAD) !== 0 } : undefined;
}

/**
 * Every process under procRoot. Processes exit during a scan: a pid whose files vanish (ENOENT, ESRCH) is skipped,
 * and an unreadable command line (hidepid, another user) leaves argv empty rather than dropping the process.
 * `needsArgv` says, from comm and state, whether a process's command line is needed at all; without it argv is
 * read for every process (each read is a file open, read and close on the threadpool).
 */
export async function scanProcesses(procRoot: string, signal: AbortSignal, needsArgv: (p: { comm: string; state: string }) => boolean = () => true): Promise<ProcInfo[]> {
  const pids = (await readdir(procRoot)).filter((e) => /^\d+$/.test(e)).map(Number);
  const out: ProcInfo[] = [];
  for (let i = 0; i < pids.length; i += CONCURRENCY) {
    const batch = await Promise.all(pids.slice(i, i + CONCURRENCY).map((pid) => readProcess(procRoot, pid, signal, needsArgv)));
    for (const p of batch) if (p) out.push(p);
  }
  return out;
}

async function readProcess(procRoot: string, pid: number, signal: AbortSignal, needsArgv: (p: { comm: string; state: string }) => boolean): Promise<ProcInfo | undefined> {
  const dir = path.join(procRoot, String(pid));
  let stat: ReturnType<typeof parseProcStat>;
  try {
    signal.throwIfAborted();
    // Read synchronously: the kernel builds <pid>/stat from the task's own fields without waiting on I/O or on the
    // target's memory-map lock, so it never hangs, and a sync read costs a few microseconds where the promise
    // version costs four threadpool round trips. That adds up in a shared PID namespace with many processes.
    // cmdline below does take that lock (a process stuck in a page fault on a hung mount blocks its readers), so
    // it stays asynchronous and under the runner's deadline.
    stat = parseProcStat(readStatSync(path.join(dir, 'stat')));
  } catch (err) {
    if (signal.aborted) throw err;
    return undefined; // gone, or not a process directory
  }
  if (!stat) return undefined;
  let argv: string[] = [];
  // A kernel thread's command line is empty: no need to read it. A pod's PID namespace has none, but a probe that
  // shares the node's (hostPID) sees dozens, most of the processes it scans.
  if (stat.kernelThread || !needsArgv(stat)) return { pid, comm: stat.comm, state: stat.state, argv };
  try {
    const raw = await readSmallFile(path.join(dir, 'cmdline'));
    argv = raw.split('\0');
    if (argv.at(-1) === '') argv.pop();
  } catch (err) {
    if (signal.aborted) throw err;
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ESRCH') return undefined;
  }
  return { pid, comm: stat.comm, state: stat.state, argv };
}

/** A predicate for a match spec. Names compare with comm (truncated by the kernel) or the basename of argv[0]. */
export function processMatcher(match: ProcessMatch): (p: ProcInfo) => boolean {
  const pattern = match.cmdline === undefined ? undefined : new RegExp(match.cmdline);
  const name = match.name;
  return (p) => {
    if (name !== undefined) {
      const argv0 = p.argv[0] === undefined ? undefined : path.posix.basename(p.argv[0]);
      if (!commIs(p.comm, name) && argv0 !== name) return false;
    }
    return pattern === undefined || pattern.test(p.argv.join(' '));
  };
}

/**
 * Whether processMatcher can need the command line of a process with this comm: for a cmdline pattern always, for
 * a name only when comm does not already match it (then argv[0] may). Dead processes never match.
 */
export function argvNeeded(match: ProcessMatch): (p: { comm: string; state: string }) => boolean {
  return (p) => p.state !== 'Z' && p.state !== 'X' && (match.cmdline !== undefined || (match.name !== undefined && !commIs(p.comm, match.name)));
}

function commIs(comm: string, name: string): boolean {
  return comm === name || comm === name.slice(0, TASK_COMM_LEN);
}

/**
 * The probe's own pids in this /proc: the worker (procRoot/self) and its parent (the daemon). They never count as
 * matches, or a pattern such as `node` would find the probe itself. A fixture tree without `self` excludes none.
 */
export async function probePids(procRoot: string): Promise<Set<number>> {
  try {
    const self = Number(await readlink(path.join(procRoot, 'self')));
    if (self !== process.pid) return new Set([self]);
    return new Set([self, process.ppid]);
  } catch {
    return new Set();
  }
}

/** Live (not zombie, not dead) processes matching `match`, excluding the probe's own, plus the full scan. */
export async function findProcesses(procRoot: string, match: ProcessMatch, signal: AbortSignal): Promise<{ matches: ProcInfo[]; all: ProcInfo[] }> {
  const [all, own] = await Promise.all([scanProcesses(procRoot, signal, argvNeeded(match)), probePids(procRoot)]);
  const test = processMatcher(match);
  const matches = all.filter((p) => !own.has(p.pid) && p.state !== 'Z' && p.state !== 'X' && test(p));
  return { matches, all };
}

/** One buffer for every `<pid>/stat` read: the reads are synchronous, so no two ever use it at once. */
const statBuffer = Buffer.alloc(4096);

/**
 * `<pid>/stat`'s text: open, one read, close. The kernel returns the whole line (a few hundred bytes) to one read.
 * readFileSync would allocate a 64 KiB buffer for each (procfs reports size 0), and in a scan of a hundred processes
 * that churn leaves the malloc heap fragmented and grown by more than a megabyte (docs/worker-footprint.md).
 */
function readStatSync(file: string): string {
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, statBuffer, 0, statBuffer.length, 0);
  } finally {
    closeSync(fd);
  }
  // A line that fills the buffer (it cannot, short of a kernel change) is read again the ordinary way.
  return n < statBuffer.length ? statBuffer.toString('utf8', 0, n) : readFileSync(file, 'utf8');
}

/**
 * A small file's text: open, reads until EOF, close (no fstat, which /proc answers with size 0 anyway). Cheaper
 * than readFile for the many small /proc files of a scan.
 */
async function readSmallFile(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    // Small buffers come from Node's shared pool; a larger one only after a read filled its buffer, so the read
    // that finds the end of a short command line does not allocate 16 KiB for nothing.
    let size = 1024;
    for (;;) {
      const buffer = Buffer.allocUnsafe(size);
      const { bytesRead } = await fh.read({ buffer });
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      if (bytesRead === size) size = 16384;
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await fh.close();
  }
}
