import type * as z from 'zod/mini';
import type { Logger } from '../src/log/logger.ts';
import type { CheckStatus } from '../src/protocol/heartbeat.ts';
import type { CHECK_SPECS, CheckKind } from '../src/protocol/checks/check-config.ts';
import type { ReasonCode } from '../src/protocol/codes.ts';

/** What a check decides. The runner adds id, kind, latency and time, and owns deadlines and error capture. */
export interface Outcome {
  status: CheckStatus;
  code: ReasonCode;
  message?: string;
  details?: Record<string, string | number | boolean | null>;
}

/** Everything a check may use; nothing else (no globals), so tests can drive it. */
export interface CheckContext {
  /** Aborted when the runner's deadline passes; a check passes it to every I/O it starts. */
  signal: AbortSignal;
  log: Logger;
  /** Wall clock, ms since the epoch (injectable for tests). */
  now: () => number;
  /** The time (ms since the epoch) at which the runner gives up and reports CHECK_TIMEOUT. */
  deadline: number;
  env: NodeJS.ProcessEnv;
  /** Collector base URL, for checks that use it as a reference (clock). */
  collectorUrl?: string | undefined;
  /** Per-check memory between runs (e.g. the last OOM-kill count); owned by the runner, one map per check id. */
  state: Map<string, unknown>;
}

/** One check kind: its spec schema (from the protocol) and how to run it. */
export interface CheckDefinition<K extends CheckKind> {
  kind: K;
  spec: (typeof CHECK_SPECS)[K];
  run(spec: z.output<(typeof CHECK_SPECS)[K]>, ctx: CheckContext): Promise<Outcome>;
  /**
   * Filesystem paths a run touches. The runner allows at most one outstanding operation per path: while one is
   * pending (a hung NFS mount), the next due run reports HUNG/MOUNT_HUNG and starts nothing.
   */
  paths?(spec: z.output<(typeof CHECK_SPECS)[K]>): string[];
}

/** ok carries no message or details: heartbeats stay small when all is well. */
export const ok = (): Outcome => ({ status: 'ok', code: 'OK' });
export const fail = (code: ReasonCode, message: string, details?: Outcome['details']): Outcome => ({ status: 'fail', code, message, ...(details ? { details } : {}) });
export const warn = (code: ReasonCode, message: string, details?: Outcome['details']): Outcome => ({ status: 'warn', code, message, ...(details ? { details } : {}) });
export const unknown = (code: ReasonCode, message: string, details?: Outcome['details']): Outcome => ({ status: 'unknown', code, message, ...(details ? { details } : {}) });
