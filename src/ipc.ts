import type { AgentConfig } from './protocol/agent-config.ts';
import type { AgentState } from './protocol/heartbeat.ts';

/**
 * Messages between the daemon and the worker over the Node IPC channel (child_process.fork). The daemon is
 * long-lived and the worker is replaced at run time, so this contract must stay backward compatible: add
 * message types, never change the meaning of one.
 */
export type DaemonToWorker =
  /** The effective config to run; the worker validates it again and answers config-applied or config-rejected. */
  | { type: 'config'; config: AgentConfig }
  /** Agent fields the worker copies into its heartbeats (daemon version, breaker, update status). */
  | { type: 'agent-state'; agent: Partial<AgentState> }
  /** Flush the spool within graceMs, then exit 0. */
  | { type: 'stop'; graceMs: number };

export type WorkerToDaemon =
  /** Sent once, after the first successful schedule of the received (or local) config. */
  | { type: 'ready'; version: string; bootId: string; configRevision: string }
  | { type: 'config-applied'; revision: string }
  | { type: 'config-rejected'; revision: string; error: string }
  /** A heartbeat was delivered (2xx); carries what the collector answered so the daemon can react at once. */
  | { type: 'heartbeat-delivered'; seq: number; configRevision: string; commandsPending: boolean }
  /** A heartbeat could not be delivered and was spooled. */
  | { type: 'heartbeat-failed'; seq: number; error: string }
  | { type: 'stopped'; flushed: number; remaining: number };
