import type { AgentState, CheckResult, Heartbeat, Instance } from '../../src/protocol/index.ts';
import { formatDuration } from '../../src/units.ts';
import { AlertTimer, type AlertChange } from './alert-timer.ts';
import { checkTiming, silentThreshold, type AlertTiming, type DiagnosisOptions } from './diagnosis-config.ts';
import { FlapDetector } from './flap-detector.ts';
import { probeBrokenReason, statusFromResults } from './instance-status.ts';
import type { Problem, ProblemChange } from './problem.ts';
import { brokenProblem, checkProblem, flappingProblem, silentProblem, type CheckTrack } from './instance-problems.ts';
import type { InstanceStatus, Transition } from './transition.ts';

/** Where the results of one step go; the caller owns the arrays, so a batch appends to one pair. */
export interface StepOutput {
  transitions: Transition[];
  changes: ProblemChange[];
}

const isBad = (r: CheckResult): boolean | undefined => (r.status === 'ok' ? false : r.status === 'unknown' ? undefined : true);

/**
 * One instance's diagnosis: its status (healthy, degraded, failing, silent, probe-broken, retired) and the
 * problems that may become events, each behind its `for` duration and resolve hysteresis, with flap detection
 * per check. Pure: time comes in as epoch milliseconds; memory is bounded by the number of checks.
 */
export class InstanceState {
  readonly podUid: string;
  instance: Instance;
  agent: AgentState;
  intervalMs: number;
  /** When the last live heartbeat arrived; undefined while the instance is known only from replays. */
  lastHeardAt: number | undefined;
  status: InstanceStatus | 'unknown' = 'unknown';
  silentSince: number | undefined;
  retiredAt: number | undefined;
  /** When any heartbeat (live or replayed) last arrived, for forgetting instances known only from replays. */
  lastActivityAt: number;
  private bootId = '';
  private seq = -1;
  private lastSentAt = -Infinity;
  private brokenReason: string | undefined;
  private lastBrokenReason: string | undefined;
  private brokenAgent: AgentState | undefined;
  /** In the order the checks first appeared; a handful per instance, so a scan beats a Map's hash table. */
  private readonly checks: CheckTrack[] = [];
  private readonly silentAlert = new AlertTimer();
  private readonly brokenAlert = new AlertTimer();
  private replayPrev: { status: InstanceStatus; at: number } | undefined;
  private readonly opts: DiagnosisOptions;

  constructor(hb: Heartbeat, receivedAt: number, opts: DiagnosisOptions) {
    this.lastActivityAt = receivedAt;
    this.podUid = hb.instance.podUid;
    this.instance = hb.instance;
    this.agent = hb.agent;
    this.intervalMs = hb.intervalMs;
    this.opts = opts;
  }

  /** Current check results (latest live heartbeat), for snapshots. */
  currentChecks(): CheckResult[] {
    return this.checks.map((t) => t.result);
  }

  /** Feeds one heartbeat that arrived at `receivedAt`. Late and replayed ones only add history. */
  observe(hb: Heartbeat, receivedAt: number, out: StepOutput): void {
    if (this.retiredAt !== undefined) return;
    this.lastActivityAt = receivedAt;
    const sentAt = Date.parse(hb.sentAt);
    const lateAfter = Math.max(silentThreshold(this.opts, hb.intervalMs), this.opts.replay.maxAgeMs);
    const late = (hb.bootId === this.bootId && hb.seq <= this.seq) || sentAt < this.lastSentAt || receivedAt - sentAt > lateAfter;
    if (late) return this.observeReplay(hb, sentAt, out);

    this.instance = hb.instance;
    this.agent = hb.agent;
    this.intervalMs = hb.intervalMs;
    this.bootId = hb.bootId;
    this.seq = hb.seq;
    this.lastSentAt = sentAt;
    this.lastHeardAt = receivedAt;
    if (this.silentSince !== undefined) {
      this.silentSince = undefined;
      this.emit(this.silentAlert.observe(false, receivedAt, this.silentTiming()), () => this.silentProblem(), receivedAt, out);
    }
    const reason = probeBrokenReason(hb.agent);
    const reasonChanged = reason !== undefined && this.brokenReason !== undefined && reason !== this.brokenReason;
    this.brokenReason = reason;
    this.emit(this.brokenAlert.observe(reason !== undefined, receivedAt, this.opts.probeBroken), () => this.brokenProblem(), receivedAt, out);
    if (reasonChanged && this.brokenAlert.phase === 'firing') out.changes.push({ op: 'update', problem: this.brokenProblem(), at: receivedAt });
    // A daemon-sourced heartbeat without results says nothing about the checks: keep the last known ones.
    if (hb.source === 'worker' || hb.checks.length > 0) this.observeChecks(hb.checks, receivedAt, out);
    this.setStatus(receivedAt, out);
  }

  /** Advances time: silence, `for` durations, hysteresis, the end of flapping. */
  tick(now: number, out: StepOutput): void {
    if (this.retiredAt !== undefined || this.lastHeardAt === undefined) return;
    if (this.silentSince === undefined) {
      const threshold = silentThreshold(this.opts, this.intervalMs);
      if (now - this.lastHeardAt >= threshold) {
        this.silentSince = this.lastHeardAt + threshold;
        this.emit(this.silentAlert.observe(true, this.silentSince, this.silentTiming()), () => this.silentProblem(), this.silentSince, out);
        this.setStatus(this.silentSince, out);
      }
    }
    this.emit(this.silentAlert.tick(now, this.silentTiming()), () => this.silentProblem(), now, out);
    // A silent instance sends nothing, so its checks neither start firing nor finish resolving meanwhile.
    if (this.silentSince !== undefined) return;
    this.emit(this.brokenAlert.tick(now, this.opts.probeBroken), () => this.brokenProblem(), now, out);
    for (const track of this.checks) {
      const id = track.id;
      if (track.flap?.flapping) {
        this.emit(track.flapAlert?.tick(now, this.flapTiming()), () => this.flappingProblem(id, track), now, out);
        if (!track.flap.calmed(now, this.opts.flap.calmMs)) continue;
        this.emit(track.flapAlert?.reset(), () => this.flappingProblem(id, track), now, out);
        this.emit(this.alertOf(track, track.bad)?.observe(track.bad, now, this.timing(track)), () => this.checkProblem(id, track), now, out);
      }
      this.emit(track.alert?.tick(now, this.timing(track)), () => this.checkProblem(id, track), now, out);
    }
  }

  /**
   * Restarts the silence `for` timer at `at` without announcing anything: used when a fleet-wide hold is released,
   * so an instance whose heartbeats were only delayed by the outage gets time to come back before its own event.
   */
  restartSilence(at: number, out: StepOutput): void {
    if (this.silentSince === undefined) return;
    this.silentAlert.reset();
    this.emit(this.silentAlert.observe(true, at, this.silentTiming()), () => this.silentProblem(), at, out);
  }

  /** Retires the instance (its pod is gone): every open problem ends now. */
  retire(at: number, reason: string, out: StepOutput): void {
    if (this.retiredAt !== undefined) return;
    this.retiredAt = at;
    this.emit(this.silentAlert.reset(), () => this.silentProblem(), at, out);
    this.emit(this.brokenAlert.reset(), () => this.brokenProblem(), at, out);
    for (const track of this.checks) this.dropCheck(track.id, track, at, out);
    this.checks.length = 0;
    this.pushTransition('retired', at, reason, false, out);
  }

  private observeChecks(results: readonly CheckResult[], at: number, out: StepOutput): void {
    const seen = new Set<string>();
    for (const r of results) {
      seen.add(r.id);
      const slot = this.checks.findIndex((t) => t.id === r.id);
      let track = this.checks[slot];
      if (!track || track.result.kind !== r.kind) {
        const timing = checkTiming(this.opts, r.kind, r.id);
        track = { id: r.id, result: r, lastBad: undefined, bad: undefined, alert: undefined, flap: undefined, timing };
        if (slot === -1) this.checks.push(track);
        else this.checks[slot] = track;
      }
      const prev = track.result;
      const bad = isBad(r);
      track.result = r;
      if (bad) track.lastBad = r;
      if (bad !== undefined && track.bad !== undefined && bad !== track.bad) {
        if ((track.flap ??= new FlapDetector()).record(at, this.opts.flap.maxTransitions, this.opts.flap.windowMs)) {
          // One flapping event instead of a fire/resolve pair per swing; a still-pending alert is dropped, a
          // firing one stays firing (frozen) until the check calms down.
          if (track.alert?.phase === 'pending') this.emit(track.alert.reset(), () => this.checkProblem(r.id, track), at, out);
          track.flapAlert ??= new AlertTimer();
          this.emit(track.flapAlert.observe(true, at, this.flapTiming()), () => this.flappingProblem(r.id, track), at, out);
        }
      }
      if (bad !== undefined) track.bad = bad;
      if (track.flap?.flapping) continue;
      const alert = this.alertOf(track, bad);
      const changes = alert?.observe(bad, at, this.timing(track)) ?? [];
      this.emit(changes, () => this.checkProblem(r.id, track), at, out);
      if (changes.length === 0 && bad && alert && alert.phase !== 'inactive' && (prev.code !== r.code || prev.status !== r.status)) {
        out.changes.push({ op: 'update', problem: this.checkProblem(r.id, track), at });
      }
    }
    if (this.checks.length === seen.size) return;
    for (const track of this.checks) if (!seen.has(track.id)) this.dropCheck(track.id, track, at, out);
    const kept = this.checks.filter((t) => seen.has(t.id));
    this.checks.length = 0;
    this.checks.push(...kept);
  }

  /** The check's `for` timer, created when it first has something to time: an absent one is inactive. */
  private alertOf(track: CheckTrack, bad: boolean | undefined): AlertTimer | undefined {
    if (bad === true) track.alert ??= new AlertTimer();
    return track.alert;
  }

  private dropCheck(id: string, track: CheckTrack, at: number, out: StepOutput): void {
    this.emit(track.flapAlert?.reset(), () => this.flappingProblem(id, track), at, out);
    this.emit(track.alert?.reset(), () => this.checkProblem(id, track), at, out);
  }

  /** A late heartbeat: its status goes to history (from the previous replayed status), nothing else changes. */
  private observeReplay(hb: Heartbeat, sentAt: number, out: StepOutput): void {
    const { status, reason } = statusFromResults(hb.checks, probeBrokenReason(hb.agent));
    const prev = this.replayPrev && this.replayPrev.at <= sentAt ? this.replayPrev.status : undefined;
    if (prev !== status) out.transitions.push({ podUid: this.podUid, from: prev ?? 'unknown', to: status, at: sentAt, reason, historyOnly: true });
    this.replayPrev = { status, at: sentAt };
  }

  private setStatus(at: number, out: StepOutput): void {
    if (this.silentSince !== undefined) {
      const gap = formatDuration(silentThreshold(this.opts, this.intervalMs));
      this.pushTransition('silent', at, `no heartbeat for ${gap}`, false, out);
      return;
    }
    const { status, reason } = statusFromResults(this.currentChecks(), this.brokenReason);
    this.pushTransition(status, at, reason, false, out);
  }

  private pushTransition(to: InstanceStatus, at: number, reason: string, historyOnly: boolean, out: StepOutput): void {
    if (to === this.status) return;
    out.transitions.push({ podUid: this.podUid, from: this.status, to, at, reason, historyOnly });
    this.status = to;
  }

  /** Reports changes; the problem is built only when there is one (this runs for every check of every beat). */
  private emit(changes: AlertChange | AlertChange[] | undefined, make: () => Problem, at: number, out: StepOutput): void {
    if (changes === undefined || (Array.isArray(changes) && changes.length === 0)) return;
    const problem = make();
    for (const op of Array.isArray(changes) ? changes : [changes]) out.changes.push({ op, problem, at });
  }

  /** The phase of the silence alert (a held silent instance is released only once it fires). */
  get silentPhase(): AlertTimer['phase'] {
    return this.silentAlert.phase;
  }

  private timing(track: CheckTrack): AlertTiming {
    return track.timing;
  }

  private flapTiming(): AlertTiming {
    return { forMs: this.opts.flap.forMs, resolveForMs: 0 };
  }

  private silentTiming(): AlertTiming {
    return { forMs: this.opts.silent.forMs, resolveForMs: 0 };
  }

  private checkProblem(id: string, track: CheckTrack): Problem {
    return checkProblem(this.instance, id, track);
  }

  private flappingProblem(id: string, track: CheckTrack): Problem {
    return flappingProblem(this.instance, id, track, this.opts.flap);
  }

  /** The silence problem as it stands (the router announces it when a hold is released). */
  silentProblem(): Problem {
    return silentProblem(this.instance, this.silentSince ?? this.silentAlert.badSince, silentThreshold(this.opts, this.intervalMs), this.lastHeardAt);
  }

  private brokenProblem(): Problem {
    // Resolving, the reason is gone: the event keeps naming what was broken.
    this.lastBrokenReason = this.brokenReason ?? this.lastBrokenReason;
    return brokenProblem(this.instance, this.lastBrokenAgent(), this.lastBrokenReason ?? 'unknown', this.brokenAlert.badSince);
  }

  private lastBrokenAgent(): AgentState {
    if (this.brokenReason !== undefined) this.brokenAgent = this.agent;
    return this.brokenAgent ?? this.agent;
  }
}
