import type { DiagnosisEvent, Heartbeat } from '../../src/protocol/index.ts';
import { formatDuration } from '../../src/units.ts';
import { EventBook } from '../events/event-lifecycle.ts';
import { AppUnavailableTracker } from './app-unavailable.ts';
import { resolveDiagnosisOptions, type DiagnosisOptions, type DiagnosisOptionsInput } from './diagnosis-config.ts';
import { CHECK_GROUPS, FLAP_GROUPS, FleetCorrelator, PROBE_GROUPS } from './fleet-correlator.ts';
import { InstanceState, type StepOutput } from './instance-state.ts';
import { UNKNOWN_KUBE_FACTS, type KubeFacts } from './kube-facts.ts';
import { MassSilenceDetector } from './mass-silence.ts';
import type { ProblemChange } from './problem.ts';
import { SilenceRouter } from './silence-router.ts';
import type { Transition } from './transition.ts';

/** What one call produced: status changes for the timeline, and the events to store and send. */
export interface DiagnosisResult {
  transitions: Transition[];
  events: DiagnosisEvent[];
}

/** An instance as the read API shows it. */
export type InstanceSnapshot = Pick<InstanceState, 'podUid' | 'instance' | 'agent' | 'status' | 'intervalMs' | 'lastHeardAt' | 'silentSince' | 'retiredAt'> & {
  checks: ReturnType<InstanceState['currentChecks']>;
};

/**
 * The diagnosis facade the collector calls: `observe` after a batch of heartbeats committed, `tick` from a timer.
 * Pure and deterministic: no I/O, time comes in as epoch milliseconds. Memory is bounded per instance (checks,
 * a few timers) and instances are forgotten once retired or silent for long (see `forget` options).
 */
export class Diagnoser {
  private readonly opts: DiagnosisOptions;
  private readonly kube: KubeFacts;
  private readonly instances = new Map<string, InstanceState>();
  private readonly book: EventBook;
  private readonly correlator: FleetCorrelator;
  private readonly flapCorrelator: FleetCorrelator;
  private readonly probeCorrelator: FleetCorrelator;
  private readonly massSilence: MassSilenceDetector;
  private readonly silence: SilenceRouter;
  private readonly appUnavailable: AppUnavailableTracker;

  constructor(options: DiagnosisOptionsInput = {}) {
    this.opts = resolveDiagnosisOptions(options);
    this.kube = this.opts.kube ?? UNKNOWN_KUBE_FACTS;
    this.book = new EventBook(this.opts.events);
    const zoneOf = (node: string): string | undefined => this.opts.nodeZones[node] ?? this.kube.nodeFacts(node).zone;
    const group = { minInstances: this.opts.group.minInstances, zoneOf, book: this.book };
    this.correlator = new FleetCorrelator({ ...group, kind: CHECK_GROUPS });
    this.flapCorrelator = new FleetCorrelator({ ...group, kind: FLAP_GROUPS });
    this.probeCorrelator = new FleetCorrelator({ ...group, kind: PROBE_GROUPS });
    this.massSilence = new MassSilenceDetector(this.opts.massSilence);
    this.silence = new SilenceRouter({ book: this.book, kube: this.kube, massSilence: this.massSilence });
    this.appUnavailable = new AppUnavailableTracker({ book: this.book, kube: this.kube });
  }

  /** Feeds heartbeats that were committed at `receivedAt`. */
  observe(heartbeats: readonly Heartbeat[], receivedAt: number): DiagnosisResult {
    const out: StepOutput = { transitions: [], changes: [] };
    for (const hb of heartbeats) {
      const uid = hb.instance.podUid;
      let st = this.instances.get(uid);
      if (!st) {
        st = new InstanceState(hb, receivedAt, this.opts);
        this.instances.set(uid, st);
      }
      const heardBefore = st.lastHeardAt;
      st.observe(hb, receivedAt, out);
      if (st.lastHeardAt !== heardBefore) this.massSilence.onHeard(uid);
    }
    return this.finish(out, receivedAt);
  }

  /** Advances time: silence, `for` durations, hysteresis, fleet-wide silence, forgetting. */
  tick(now: number): DiagnosisResult {
    const out: StepOutput = { transitions: [], changes: [] };
    let active = 0;
    for (const [uid, st] of this.instances) {
      if (st.retiredAt !== undefined) {
        if (now - st.retiredAt >= this.opts.forget.retiredMs) this.forget(uid);
        continue;
      }
      if (st.lastHeardAt === undefined) {
        if (now - st.lastActivityAt >= this.opts.forget.silentMs) this.forget(uid);
        continue;
      }
      const wasSilent = st.silentSince !== undefined;
      st.tick(now, out);
      if (!wasSilent && st.silentSince !== undefined) this.massSilence.onSilent(uid, st.silentSince);
      if (st.silentSince !== undefined && now - st.silentSince >= this.opts.forget.silentMs) {
        this.retireNow(st, now, `forgotten after ${formatDuration(this.opts.forget.silentMs)} of silence`, out);
      }
      active++;
    }
    const isSilent = (uid: string): boolean => this.instances.get(uid)?.silentSince !== undefined;
    const ms = this.massSilence.evaluate(now, active, isSilent);
    this.route(out, now);
    if (this.massSilence.active) {
      const held = this.massSilence.heldCount(isSilent);
      this.silence.suspectIngest(held, active, this.opts.massSilence.windowMs, now);
    }
    if (ms.cleared) {
      this.silence.clearIngest(now);
      for (const uid of ms.cleared) this.instances.get(uid)?.restartSilence(now, out);
      this.route(out, now);
    }
    this.appUnavailable.tick(now);
    this.book.flush(now);
    return { transitions: out.transitions, events: this.book.take() };
  }

  /** Retires an instance (its pod was deleted); its open events resolve. For the Kubernetes watch engine. */
  retire(podUid: string, at: number, reason = 'pod deleted'): DiagnosisResult {
    const out: StepOutput = { transitions: [], changes: [] };
    const st = this.instances.get(podUid);
    if (st) this.retireNow(st, at, reason, out);
    return this.finish(out, at);
  }

  /** One instance as the read API shows it, or undefined when unknown or forgotten. */
  instance(podUid: string): InstanceSnapshot | undefined {
    const st = this.instances.get(podUid);
    if (!st) return undefined;
    const { instance, agent, status, intervalMs, lastHeardAt, silentSince, retiredAt } = st;
    return { podUid, instance, agent, status, intervalMs, lastHeardAt, silentSince, retiredAt, checks: st.currentChecks() };
  }

  /** Open (pending and firing) events as they stand at `now`. */
  openEvents(now: number): DiagnosisEvent[] {
    return this.book.open(now);
  }

  /** Instances tracked, for metrics and the memory bound. */
  get size(): number {
    return this.instances.size;
  }

  private finish(out: StepOutput, at: number): DiagnosisResult {
    this.route(out, at);
    return { transitions: out.transitions, events: this.book.take() };
  }

  /** Sends each problem change where it belongs; retirements decided on the way add changes, so loop until done. */
  private route(out: StepOutput, at: number): void {
    for (let i = 0; i < out.changes.length; i++) {
      const c: ProblemChange = out.changes[i]!;
      switch (c.problem.kind) {
        case 'check':
          this.correlator.apply(c);
          this.appUnavailable.apply(c);
          break;
        case 'silent': {
          const st = this.instances.get(c.problem.podUid);
          if (st) this.silence.apply(c, st, (reason) => this.retireNow(st, c.at, reason, out));
          break;
        }
        case 'flapping':
          this.flapCorrelator.apply(c);
          break;
        case 'probe-broken':
          this.probeCorrelator.apply(c);
          break;
      }
    }
    out.changes.length = 0;
    this.correlator.flush(at);
    this.flapCorrelator.flush(at);
    this.probeCorrelator.flush(at);
  }

  private retireNow(st: InstanceState, at: number, reason: string, out: StepOutput): void {
    st.retire(at, reason, out);
    this.massSilence.forget(st.podUid);
    this.appUnavailable.forget(st.podUid, at);
  }

  private forget(uid: string): void {
    this.instances.delete(uid);
    this.massSilence.forget(uid);
  }
}
