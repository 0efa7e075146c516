import type { CommandResult } from '../../../src/protocol/command.ts';
import type { Operator } from '../../auth/operator-auth.ts';

/**
 * Record kinds of the command channel in the record store:
 * - `command` (id = command uuid): what was asked, by whom, for which target;
 * - `command-run` (id = `<command id>/<pod uid>`): one instance's delivery and result;
 * - `command-queue` (id = `<pod uid>/<seq>`): exists exactly while the command waits for that pod. Claiming it is
 *   deleting it, which one poller alone can win, so a command is delivered at most once even across replicas;
 * - `command-inflight`: exists while a delivered command's result is awaited.
 */
export const KIND_COMMAND = 'command';
export const KIND_RUN = 'command-run';
export const KIND_QUEUE = 'command-queue';
/** `command-inflight` (id = `<pod uid>/<command id>`): delivered, result awaited until `deadline`; then the run is lost. */
export const KIND_INFLIGHT = 'command-inflight';

/** Where an instance was when the command was queued (a pod's identity does not change during its life). */
export interface InstanceRef {
  podUid: string;
  namespace: string;
  pod: string;
  app: string;
  tenant: string;
  node: string | null;
}

export interface Selector {
  namespace?: string | undefined;
  app?: string | undefined;
  tenant?: string | undefined;
  node?: string | undefined;
}

export type CommandTarget = { podUid: string } | { selector: Selector; maxFanOut: number };

export interface CommandRecord {
  id: string;
  /** Time-sortable key: orders one pod's queue by creation. */
  seq: string;
  template: string;
  params: Record<string, string>;
  target: CommandTarget;
  requestedBy: Operator;
  createdAt: string;
  expiresAt: string;
  instances: number;
}

/**
 * `queued` → `delivered` → a result status; `queued` → `expired` when no poll picked it up in time; `delivered` →
 * `lost` when no result came within `commands.resultTimeout` (a result arriving later still replaces it).
 */
export type RunStatus = 'queued' | 'delivered' | CommandResult['status'] | 'expired' | 'lost';
export const TERMINAL: ReadonlySet<RunStatus> = new Set(['completed', 'refused', 'timeout', 'error', 'expired', 'lost']);

export interface CommandRun {
  commandId: string;
  instance: InstanceRef;
  status: RunStatus;
  queuedAt: string;
  deliveredAt?: string;
  expiredAt?: string;
  lostAt?: string;
  result?: Omit<CommandResult, 'id'>;
}

export interface InflightEntry {
  commandId: string;
  instance: InstanceRef;
  /** Epoch ms after which the run is lost. */
  deadline: number;
}

export interface QueueEntry {
  commandId: string;
  instance: InstanceRef;
  /** Epoch ms. */
  expiresAt: number;
}

export const runId = (commandId: string, podUid: string): string => `${commandId}/${podUid}`;
export const queueId = (podUid: string, seq: string): string => `${podUid}/${seq}`;
export const inflightId = (podUid: string, commandId: string): string => `${podUid}/${commandId}`;

/** The audit outcome of a run: ok only for a completed run with exit code 0. */
export function runOutcome(run: Pick<CommandRun, 'status' | 'result'>): 'ok' | 'failed' | 'refused' | 'expired' | 'pending' {
  switch (run.status) {
    case 'queued':
    case 'delivered':
      return 'pending';
    case 'completed':
      return run.result?.exitCode === 0 ? 'ok' : 'failed';
    case 'refused':
      return 'refused';
    case 'expired':
      return 'expired';
    case 'lost':
      return 'failed';
    default:
      return 'failed';
  }
}
