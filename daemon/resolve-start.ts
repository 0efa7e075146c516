import { readFile } from 'node:fs/promises';
import type { Logger } from '../src/log/logger.ts';
import { isInstalled, workerEntry } from './release-store.ts';
import { saveUpdateState, type UpdateState } from './update-state.ts';
import { killGroup } from './worker-process.ts';

/** An interrupted update of the same build that keeps killing the daemon is given up after this many tries. */
const MAX_INTERRUPTED_ATTEMPTS = 2;

/**
 * Brings the state file to a consistent version at start. A `pending` update means the daemon died mid-update:
 * the unproven build does not run; the config offers it again and it is resumed from scratch, unless it already
 * interrupted the daemon twice, then it is marked bad. `current` runs when its bundle is intact, else `previous`, else the baked worker (the last fallback).
 */
export async function resolveStartBuild(stateDir: string, state: UpdateState, log: Logger): Promise<{ version: string; entry: string } | undefined> {
  let changed = false;
  if (state.pending) {
    const p = state.pending;
    log.warn({ version: p.version, attempts: p.attempts }, 'the daemon restarted in the middle of an update; rolling back to the last proven worker');
    // Kept (not cleared) below the limit so a resumed attempt counts on from it: an update that kills the daemon
    // every time is given up instead of looping.
    if (p.attempts >= MAX_INTERRUPTED_ATTEMPTS) {
      state.bad[p.version] = { sha256: p.sha256, error: `update interrupted ${p.attempts} times` };
      delete state.pending;
      changed = true;
    }
  }
  if (state.current && !(await isInstalled(stateDir, state.current))) {
    log.warn({ version: state.current.version }, 'installed worker is missing or corrupt; falling back');
    state.current = state.previous && (await isInstalled(stateDir, state.previous)) ? state.previous : undefined;
    state.previous = undefined;
    changed = true;
  }
  if (changed) await saveUpdateState(stateDir, state);
  return state.current ? { version: state.current.version, entry: workerEntry(stateDir, state.current.version) } : undefined;
}

/**
 * Kills worker process groups a previous daemon life left behind (after SIGKILL the worker loses its IPC channel
 * and should exit by itself; this makes sure). Only pids whose command line names a worker bundle are touched.
 */
export async function reapOrphanWorkers(state: UpdateState, log: Logger): Promise<number> {
  let reaped = 0;
  for (const pid of state.workerPids) {
    let cmdline: string;
    try {
      cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (!/worker[^/ ]*\.mjs/.test(cmdline)) continue;
    log.warn({ pid }, 'killing a worker left behind by a previous daemon');
    killGroup(pid, 'SIGKILL');
    reaped++;
  }
  state.workerPids = [];
  return reaped;
}
