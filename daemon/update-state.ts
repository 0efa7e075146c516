import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { sha256Hex, version } from '../src/protocol/common.ts';
import { writeFileAtomic } from './atomic-write.ts';

const Build = z.strictObject({ version, sha256: sha256Hex });
export type InstalledBuild = z.output<typeof Build>;

/**
 * What the daemon knows about worker versions, persisted in `<stateDir>/state.json` so that a daemon killed at any
 * point restarts on a consistent version: `current` only changes after a new worker proved itself, and `pending`
 * marks an update in flight (found at start, it means the daemon died mid-update).
 */
export const UpdateState = z.strictObject({
  current: z.optional(Build),
  previous: z.optional(Build),
  desired: z.optional(Build),
  pending: z.optional(z.extend(Build, { attempts: z.number().check(z.int(), z.gte(1)) })),
  /** version → sha256 of a build that failed; it is not tried again unless a different sha256 is offered. */
  bad: z._default(z.record(z.string(), z.strictObject({ sha256: sha256Hex, error: z.string().check(z.maxLength(512)) })), {}),
  /** Worker process groups the daemon started, so a restarted daemon can reap those a killed one left behind. */
  workerPids: z._default(z.array(z.number().check(z.int(), z.gt(0))), []),
});
export type UpdateState = z.output<typeof UpdateState>;

export function stateFile(stateDir: string): string {
  return join(stateDir, 'state.json');
}

/** Reads the state file; a missing or corrupt file is an empty state (the baked worker runs). */
export async function loadUpdateState(stateDir: string): Promise<{ state: UpdateState; problem?: string }> {
  let text: string;
  try {
    text = await readFile(stateFile(stateDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: UpdateState.parse({}) };
    return { state: UpdateState.parse({}), problem: `cannot read ${stateFile(stateDir)}: ${(err as Error).message}` };
  }
  try {
    const r = UpdateState.safeParse(JSON.parse(text));
    if (r.success) return { state: r.data };
    return { state: UpdateState.parse({}), problem: `${stateFile(stateDir)} is not a valid state file; starting from the baked worker` };
  } catch {
    return { state: UpdateState.parse({}), problem: `${stateFile(stateDir)} is not JSON; starting from the baked worker` };
  }
}

export async function saveUpdateState(stateDir: string, state: UpdateState): Promise<void> {
  await writeFileAtomic(stateFile(stateDir), `${JSON.stringify(state, null, 2)}\n`);
}
