import { randomUUID } from 'node:crypto';
import { PodpulseError } from '../src/errors.ts';
import { API_VERSION } from '../src/protocol/common.ts';
import { Heartbeat, type AgentState, type CheckResult, type Instance } from '../src/protocol/heartbeat.ts';
import { parseWith } from '../src/protocol/parse.ts';

/** How the builder is set up; `bootId` and `now` are injectable for tests. */
export interface HeartbeatBuilderOptions {
  instance: Instance;
  /** Both versions default to this worker's version until the daemon says otherwise. */
  version: string;
  configRevision: string;
  bootId?: string;
  now?: () => number;
}

/**
 * Builds the worker's heartbeats: one boot id per process start (a fresh uuid), a per-boot sequence number the
 * collector dedups on and finds gaps in, and the latest result of every check in compact form. Standalone the
 * agent fields are defaults; under the daemon they follow its `agent-state` messages.
 */
export class HeartbeatBuilder {
  readonly bootId: string;
  readonly #instance: Instance;
  readonly #now: () => number;
  readonly #version: string;
  #daemonAgent: Partial<AgentState> = {};
  #configRevision: string;
  #seq = 0;

  constructor(opts: HeartbeatBuilderOptions) {
    this.bootId = opts.bootId ?? randomUUID();
    this.#instance = opts.instance;
    this.#now = opts.now ?? Date.now;
    this.#version = opts.version;
    this.#configRevision = opts.configRevision;
  }

  /** The seq the next heartbeat gets. */
  get nextSeq(): number {
    return this.#seq;
  }

  /** Fields from the daemon's `agent-state` message; later messages update earlier ones. */
  setAgent(agent: Partial<AgentState>): void {
    this.#daemonAgent = { ...this.#daemonAgent, ...agent };
  }

  setConfigRevision(revision: string): void {
    this.#configRevision = revision;
  }

  agent(): AgentState {
    const d = this.#daemonAgent;
    const agent: AgentState = {
      daemonVersion: d.daemonVersion ?? this.#version,
      // This process knows best which version it is and which config it runs.
      workerVersion: this.#version,
      configRevision: this.#configRevision,
      breaker: d.breaker ?? 'closed',
      worker: 'running',
    };
    if (d.breakerReason !== undefined) agent.breakerReason = d.breakerReason;
    if (d.update !== undefined) agent.update = d.update;
    return agent;
  }

  /**
   * The next heartbeat (takes a seq). Results are made compact: `ok` ones carry neither message, details nor `at`
   * (their time is the heartbeat's). Throws PODPULSE_ERR_INTERNAL if the result would not validate (a bug).
   */
  build(input: { checks: readonly CheckResult[]; intervalMs: number; dropped: number }): Heartbeat {
    const hb = {
      apiVersion: API_VERSION,
      source: 'worker' as const,
      instance: compactInstance(this.#instance),
      agent: this.agent(),
      bootId: this.bootId,
      seq: this.#seq,
      sentAt: new Date(this.#now()).toISOString(),
      intervalMs: input.intervalMs,
      dropped: input.dropped,
      checks: input.checks.map(compactResult),
    };
    const r = parseWith(Heartbeat, hb, { what: 'heartbeat', code: 'PODPULSE_ERR_INTERNAL' });
    if (!r.ok) throw new PodpulseError('PODPULSE_ERR_INTERNAL', r.error.message, { cause: r.error });
    this.#seq++;
    // Keep the compact form: the parsed value re-adds defaults (tenant: '').
    return hb as Heartbeat;
  }
}

function compactInstance(i: Instance): Instance {
  const out = { ...i };
  if (out.tenant === '') delete (out as Partial<Instance>).tenant;
  return out;
}

function compactResult(r: CheckResult): CheckResult {
  if (r.status !== 'ok') return r;
  return { id: r.id, kind: r.kind, status: r.status, code: r.code, latencyMs: r.latencyMs };
}
