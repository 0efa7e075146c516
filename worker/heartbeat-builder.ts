import { randomUuid } from '../src/agent/random-bytes.ts';
import { PodpulseError } from '../src/errors.ts';
import { API_VERSION } from '../src/protocol/common.ts';
import { fastHeartbeat } from '../src/protocol/heartbeat-fast-path.ts';
import { Heartbeat, type AgentState, type CheckResult, type HeartbeatInput, type Instance, type WireCheckResult } from '../src/protocol/heartbeat.ts';
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
    this.bootId = opts.bootId ?? randomUuid();
    this.#instance = opts.instance;
    this.#now = opts.now ?? Date.now;
    this.#version = opts.version;
    this.#configRevision = opts.configRevision;
  }

  /** The seq the next heartbeat gets. */
  get nextSeq(): number {
    return this.#seq;
  }

  /**
   * Fields from the daemon's `agent-state` message. Each message is the daemon's whole view and replaces the
   * previous one: a cleared field (breakerReason, configError) arrives as absent, since JSON IPC drops undefined.
   */
  setAgent(agent: Partial<AgentState>): void {
    this.#daemonAgent = { ...agent };
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
    if (d.configError !== undefined) agent.configError = d.configError;
    if (d.update !== undefined) agent.update = d.update;
    return agent;
  }

  /** The agent fields on the wire: the normal states (breaker closed, worker running) are left out. */
  #wireAgent(): HeartbeatInput['agent'] {
    const { breaker, worker, ...rest } = this.agent();
    const out: HeartbeatInput['agent'] = rest;
    if (breaker !== 'closed') out.breaker = breaker;
    if (worker !== 'running') out.worker = worker;
    return out;
  }

  /**
   * The next heartbeat (takes a seq), in the compact wire form: an ok result is just `[id, kind, latencyMs]` (no
   * status, code, message, details or `at`; its time is the heartbeat's), `dropped` is left out while it is 0 and
   * the agent's breaker and worker states while they are the normal ones.
   * The protocol fills those defaults back in when it parses. Throws PODPULSE_ERR_INTERNAL if the result would not
   * validate (a bug).
   */
  build(input: { checks: readonly CheckResult[]; intervalMs: number; dropped: number }): HeartbeatInput {
    const hb: HeartbeatInput = {
      apiVersion: API_VERSION,
      source: 'worker',
      instance: compactInstance(this.#instance),
      agent: this.#wireAgent(),
      bootId: this.bootId,
      seq: this.#seq,
      sentAt: new Date(this.#now()).toISOString(),
      intervalMs: input.intervalMs,
      checks: input.checks.map(compactResult),
    };
    if (input.dropped > 0) hb.dropped = input.dropped;
    // The collector's hand-written validator vouches for a valid heartbeat at a fraction of zod's cost, so the
    // worker never builds the zod heartbeat schemas (they are built on first use); what it cannot vouch for (an IPv6
    // pod IP, a bug) goes to zod, whose verdict and message are final (heartbeat-fast-path.test.ts).
    if (fastHeartbeat(hb) === undefined) {
      const r = parseWith(Heartbeat, hb, { what: 'heartbeat', code: 'PODPULSE_ERR_INTERNAL' });
      if (!r.ok) throw new PodpulseError('PODPULSE_ERR_INTERNAL', r.error.message, { cause: r.error });
    }
    this.#seq++;
    // Keep the compact form: the parsed value re-adds every default.
    return hb;
  }
}

function compactInstance(i: Instance): Instance {
  const out = { ...i };
  if (out.tenant === '') delete (out as Partial<Instance>).tenant;
  return out;
}

function compactResult(r: CheckResult): WireCheckResult {
  if (r.status !== 'ok') return r;
  // Whole milliseconds: sub-millisecond digits of a probe's latency carry no meaning and cost bytes.
  return [r.id, r.kind, Math.round(r.latencyMs)];
}
