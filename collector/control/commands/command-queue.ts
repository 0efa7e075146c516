import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../src/log/logger.ts';
import type { Command, CommandResult } from '../../../src/protocol/command.ts';
import { instanceMismatch, type AgentIdentity } from '../../auth/agent-identity.ts';
import type { Operator } from '../../auth/operator-auth.ts';
import { RecordConflictError, timeSortableId, type RecordStore, type StoredRecord } from '../../store/record-store.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import {
  KIND_COMMAND, KIND_INFLIGHT, KIND_QUEUE, KIND_RUN, TERMINAL, inflightId, queueId, runId, runOutcome,
  type CommandRecord, type CommandRun, type CommandTarget, type InflightEntry, type InstanceRef, type QueueEntry,
} from './command-records.ts';

export interface CommandQueueOptions {
  store: RecordStore;
  audit: AuditLog;
  log: Logger;
  /** How long a queued command waits for its pod before it expires. */
  ttlMs: number;
  /** How long after delivery a result may take before the run counts as lost. */
  resultTimeoutMs: number;
  /** How often the queue is re-read (other replicas' commands, expiry, the pending set for heartbeat hints). */
  refreshMs: number;
  now?: () => number;
}

export interface NewCommand {
  template: string;
  params: Record<string, string>;
  target: CommandTarget;
  instances: readonly InstanceRef[];
  requestedBy: Operator;
  ttlMs?: number;
}

/** What a command looks like to an operator: the request plus every instance's state. */
export interface CommandView extends CommandRecord {
  summary: Record<string, number>;
  /** True once every instance reached a final state (a result, or expiry). */
  done: boolean;
  runs: (CommandRun & { outcome: ReturnType<typeof runOutcome> })[];
}

export type ResultOutcome = { ok: true; duplicate: boolean } | { ok: false; status: 403 | 404 | 409; message: string };

/** The identity of a polling agent: what its token proves plus the pod it says it is. */
export interface PollingAgent {
  identity: AgentIdentity;
  instance: Pick<InstanceRef, 'podUid'> & Partial<Pick<InstanceRef, 'namespace' | 'pod'>>;
}

/**
 * The command channel's state: queueing per instance, delivery at most once, results, expiry. Persisted in the record
 * store (so any replica can serve any poll); waiting polls are woken at once by a command queued on this replica and
 * within `refreshMs` by one queued elsewhere.
 */
export class CommandQueue {
  readonly #o: CommandQueueOptions;
  readonly #now: () => number;
  readonly #waiters = new Map<string, Set<() => void>>();
  /** Pod uids with at least one queued command, as of the last refresh or local enqueue. */
  #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #closed = false;

  constructor(opts: CommandQueueOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.refresh().catch((err: unknown) => this.#o.log.warn({ err }, 'command queue refresh failed; will retry')), this.#o.refreshMs);
    this.#timer.unref();
  }

  /** Once closed, waiting polls are released at once (so the server can close without waiting out long polls). */
  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const set of this.#waiters.values()) for (const wake of set) wake();
    await this.#refreshing;
  }

  /** Whether any of these pods has a command waiting (for the heartbeat answer's `commandsPending`). */
  pending(podUids: Iterable<string>): boolean {
    for (const uid of podUids) if (this.#pending.has(uid.toLowerCase())) return true;
    return false;
  }

  /** Queues one command for each instance; the caller has validated the template, params and target. */
  async enqueue(c: NewCommand): Promise<CommandRecord> {
    const now = this.#now();
    const expires = now + (c.ttlMs ?? this.#o.ttlMs);
    const rec: CommandRecord = {
      id: randomUUID(),
      seq: timeSortableId(now),
      template: c.template,
      params: c.params,
      target: c.target,
      requestedBy: c.requestedBy,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(expires).toISOString(),
      instances: c.instances.length,
    };
    const s = this.#o.store;
    await s.putRecord(KIND_COMMAND, rec.id, rec, { expectedVersion: 0 });
    // Runs before queue entries: a poll that finds an entry always finds its run.
    for (const i of c.instances) await s.putRecord<CommandRun>(KIND_RUN, runId(rec.id, i.podUid), { commandId: rec.id, instance: i, status: 'queued', queuedAt: rec.createdAt }, { expectedVersion: 0 });
    for (const i of c.instances) {
      await s.putRecord<QueueEntry>(KIND_QUEUE, queueId(i.podUid, rec.seq), { commandId: rec.id, instance: i, expiresAt: expires }, { expectedVersion: 0 });
      this.#pending.add(i.podUid);
      this.#wake(i.podUid);
    }
    return rec;
  }

  /**
   * Takes every command queued for the polling pod, oldest first. An entry is served only when the token covers the
   * instance it was queued for (namespace, app, pod, uid), so a pod naming another pod's uid gets nothing of it.
   */
  async claim(agent: PollingAgent, max = 16): Promise<Command[]> {
    const podUid = agent.instance.podUid.toLowerCase();
    const entries = await this.#o.store.listRecords<QueueEntry>(KIND_QUEUE, { idPrefix: `${podUid}/`, limit: 100 });
    const out: Command[] = [];
    let left = 0;
    for (const e of entries) {
      if (e.body.expiresAt <= this.#now()) {
        await this.#expire(e);
        continue;
      }
      if (!covers(agent, e.body.instance)) {
        left++;
        continue;
      }
      if (out.length >= max) {
        left++;
        continue;
      }
      const cmd = await this.#deliver(e, agent);
      if (cmd) out.push(cmd);
    }
    if (left === 0) this.#pending.delete(podUid);
    return out;
  }

  /** Resolves when a command may have been queued for `podUid`, after `ms`, or when `signal` aborts. */
  waitFor(podUid: string, ms: number, signal?: AbortSignal): Promise<void> {
    const uid = podUid.toLowerCase();
    if (this.#closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.#waiters.get(uid);
      if (!set) this.#waiters.set(uid, (set = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const s = this.#waiters.get(uid);
        s?.delete(done);
        if (s?.size === 0) this.#waiters.delete(uid);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  /** Stores one instance's result. A repeat of the stored result (a retry after a lost answer) is accepted unchanged. */
  async recordResult(agent: PollingAgent, result: CommandResult): Promise<ResultOutcome> {
    const podUid = agent.instance.podUid.toLowerCase();
    const id = runId(result.id, podUid);
    for (let attempt = 0; attempt < 5; attempt++) {
      const run = await this.#o.store.getRecord<CommandRun>(KIND_RUN, id);
      if (!run) return { ok: false, status: 404, message: `command ${result.id} was not queued for instance ${podUid}` };
      if (!covers(agent, run.body.instance)) return { ok: false, status: 403, message: `the token of ${agent.identity.subject} does not cover instance ${podUid}` };
      const { id: _id, ...rest } = result;
      if (TERMINAL.has(run.body.status) && run.body.status !== 'lost') {
        const same = run.body.result?.startedAt === rest.startedAt && run.body.status === rest.status;
        return same ? { ok: true, duplicate: true } : { ok: false, status: 409, message: `command ${result.id} on ${podUid} already ended as ${run.body.status}` };
      }
      const next: CommandRun = { ...run.body, status: rest.status, result: rest };
      try {
        await this.#o.store.putRecord(KIND_RUN, id, next, { expectedVersion: run.version });
      } catch (err) {
        if (err instanceof RecordConflictError) continue;
        throw err;
      }
      await this.#o.store.deleteRecord(KIND_INFLIGHT, inflightId(podUid, result.id));
      await this.#auditSafely({
        actor: { type: 'agent', name: agent.identity.subject },
        action: 'command.result',
        outcome: auditOutcome(runOutcome(next)),
        commandId: result.id,
        instances: [podUid],
        details: { status: rest.status, exitCode: rest.exitCode, durationMs: rest.durationMs, ...(rest.error ? { error: rest.error } : {}) },
      });
      return { ok: true, duplicate: false };
    }
    return { ok: false, status: 409, message: `command ${result.id} on ${podUid} kept changing; retry` };
  }

  /** The command with every instance's state, or undefined. Queued runs past their expiry show as expired. */
  async get(id: string): Promise<CommandView | undefined> {
    const rec = await this.#o.store.getRecord<CommandRecord>(KIND_COMMAND, id);
    if (!rec) return undefined;
    const runs: CommandView['runs'] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.#o.store.listRecords<CommandRun>(KIND_RUN, { idPrefix: `${id}/`, limit: 1000, ...(after ? { after } : {}) });
      for (const r of page) {
        const run = r.body.status === 'queued' && Date.parse(rec.body.expiresAt) <= this.#now() ? { ...r.body, status: 'expired' as const } : r.body;
        runs.push({ ...run, outcome: runOutcome(run) });
      }
      if (page.length < 1000) break;
      after = page[page.length - 1]!.id;
    }
    const summary: Record<string, number> = {};
    for (const r of runs) summary[r.status] = (summary[r.status] ?? 0) + 1;
    return { ...rec.body, summary, done: runs.every((r) => TERMINAL.has(r.status)), runs };
  }

  /**
   * Deletes commands created before `before` (epoch ms) with every instance's run; queue entries are gone by then
   * (they expire after the ttl). Scans at most `maxScan` commands per call; returns how many it deleted.
   */
  async prune(before: number, maxScan = 20_000): Promise<number> {
    const s = this.#o.store;
    let deleted = 0;
    let scanned = 0;
    let after: string | undefined;
    while (scanned < maxScan) {
      const page = await s.listRecords<CommandRecord>(KIND_COMMAND, { limit: 1000, ...(after ? { after } : {}) });
      for (const c of page) {
        scanned++;
        if (Date.parse(c.body.createdAt) >= before) continue;
        for (;;) {
          const runs = await s.listRecords(KIND_RUN, { idPrefix: `${c.id}/`, limit: 1000 });
          for (const r of runs) await s.deleteRecord(KIND_RUN, r.id);
          if (runs.length < 1000) break;
        }
        if (await s.deleteRecord(KIND_COMMAND, c.id)) deleted++;
      }
      if (page.length < 1000) break;
      after = page[page.length - 1]!.id;
    }
    return deleted;
  }

  /** Re-reads every queued entry: expires the overdue, refreshes the pending set, wakes polls of pods with work. */
  refresh(): Promise<void> {
    return (this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined)));
  }

  async #refresh(): Promise<void> {
    const pending = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const page = await this.#o.store.listRecords<QueueEntry>(KIND_QUEUE, { limit: 1000, ...(after ? { after } : {}) });
      for (const e of page) {
        if (e.body.expiresAt <= this.#now()) await this.#expire(e);
        else pending.add(e.body.instance.podUid);
      }
      if (page.length < 1000) break;
      after = page[page.length - 1]!.id;
    }
    this.#pending = pending;
    for (const uid of pending) this.#wake(uid);
    await this.#loseOverdue();
  }

  /** Delivered runs whose result did not come in time become `lost`, so every command ends with an outcome. */
  async #loseOverdue(): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const page = await this.#o.store.listRecords<InflightEntry>(KIND_INFLIGHT, { limit: 1000, ...(after ? { after } : {}) });
      for (const e of page) {
        if (e.body.deadline > this.#now() || !(await this.#o.store.deleteRecord(KIND_INFLIGHT, e.id))) continue;
        const lost = await this.#updateRun(e.body.commandId, e.body.instance.podUid, (r) => (r.status === 'delivered' ? { ...r, status: 'lost', lostAt: new Date(this.#now()).toISOString() } : undefined));
        if (lost) {
          await this.#auditSafely({ actor: { type: 'system', name: 'collector' }, action: 'command.lost', outcome: 'failed', commandId: e.body.commandId, instances: [e.body.instance.podUid], details: { deadline: new Date(e.body.deadline).toISOString() } });
        }
      }
      if (page.length < 1000) break;
      after = page[page.length - 1]!.id;
    }
  }

  async #deliver(e: StoredRecord<QueueEntry>, agent: PollingAgent): Promise<Command | undefined> {
    // Deleting the entry is the claim: of two concurrent polls only one deletes it.
    if (!(await this.#o.store.deleteRecord(KIND_QUEUE, e.id))) return undefined;
    const rec = await this.#o.store.getRecord<CommandRecord>(KIND_COMMAND, e.body.commandId);
    if (!rec) return undefined;
    const inflight: InflightEntry = { commandId: rec.body.id, instance: e.body.instance, deadline: this.#now() + this.#o.resultTimeoutMs };
    await this.#o.store.putRecord(KIND_INFLIGHT, inflightId(e.body.instance.podUid, rec.body.id), inflight);
    await this.#updateRun(e.body.commandId, e.body.instance.podUid, (r) => (r.status === 'queued' ? { ...r, status: 'delivered', deliveredAt: new Date(this.#now()).toISOString() } : undefined));
    await this.#auditSafely({ actor: { type: 'agent', name: agent.identity.subject }, action: 'command.deliver', outcome: 'ok', commandId: rec.body.id, instances: [e.body.instance.podUid], details: { template: rec.body.template } });
    return { id: rec.body.id, template: rec.body.template, params: rec.body.params, createdAt: rec.body.createdAt, expiresAt: rec.body.expiresAt };
  }

  async #expire(e: StoredRecord<QueueEntry>): Promise<void> {
    if (!(await this.#o.store.deleteRecord(KIND_QUEUE, e.id))) return;
    const changed = await this.#updateRun(e.body.commandId, e.body.instance.podUid, (r) => (r.status === 'queued' ? { ...r, status: 'expired', expiredAt: new Date(this.#now()).toISOString() } : undefined));
    if (changed) {
      await this.#auditSafely({ actor: { type: 'system', name: 'collector' }, action: 'command.expire', outcome: 'expired', commandId: e.body.commandId, instances: [e.body.instance.podUid], details: { expiresAt: new Date(e.body.expiresAt).toISOString() } });
    }
  }

  async #updateRun(commandId: string, podUid: string, change: (r: CommandRun) => CommandRun | undefined): Promise<boolean> {
    const id = runId(commandId, podUid);
    for (let attempt = 0; attempt < 5; attempt++) {
      const run = await this.#o.store.getRecord<CommandRun>(KIND_RUN, id);
      const next = run && change(run.body);
      if (!run || !next) return false;
      try {
        await this.#o.store.putRecord(KIND_RUN, id, next, { expectedVersion: run.version });
        return true;
      } catch (err) {
        if (!(err instanceof RecordConflictError)) throw err;
      }
    }
    return false;
  }

  /** Delivery, results and expiry are audited; a failing audit write is logged and does not lose the result. */
  async #auditSafely(e: Parameters<AuditLog['write']>[0]): Promise<void> {
    await this.#o.audit.write(e).catch(() => undefined);
  }

  #wake(podUid: string): void {
    const set = this.#waiters.get(podUid);
    if (set) for (const wake of [...set]) wake();
  }
}

function covers(agent: PollingAgent, i: InstanceRef): boolean {
  if (agent.instance.namespace !== undefined && agent.instance.namespace !== i.namespace) return false;
  if (agent.instance.pod !== undefined && agent.instance.pod !== i.pod) return false;
  return instanceMismatch(agent.identity, { podUid: i.podUid, namespace: i.namespace, pod: i.pod, app: i.app, tenant: i.tenant }) === undefined;
}

function auditOutcome(o: ReturnType<typeof runOutcome>): 'ok' | 'failed' | 'refused' | 'expired' {
  return o === 'pending' ? 'ok' : o;
}
