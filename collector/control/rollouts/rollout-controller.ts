import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../src/log/logger.ts';
import { DiagnosisEvent } from '../../../src/protocol/event.ts';
import { parseDuration } from '../../../src/units.ts';
import { RecordConflictError, type StoredRecord } from '../../store/record-store.ts';
import type { Store } from '../../store/store.ts';
import { sha256Hex } from '../canonical-json.ts';
import { KINDS, type ControlState } from '../control-state.ts';
import { bucketOf, cutoffFor, selectorMatches } from './assignment.ts';
import { analyzeStep, judge, type InstanceView } from './rollout-analysis.ts';
import { emptyCounts, SELECTION_MAX_AGE_MS, type Rollout, type RolloutSelector } from './rollout-spec.ts';

export interface RolloutControllerOptions {
  store: Store;
  state: ControlState;
  log: Logger;
  tickMs: number;
  /** CloudEvents `source` of the events it emits. */
  eventSource: string;
}

/**
 * Drives running rollouts: starts each step (fixing its bucket cutoff), waits for the step's instances to report
 * the target version, observes them for the analysis window, then advances or fails. A failure stops applying the
 * rollout, so every instance it reached is sent back to the release it had before, and emits an event. Every write
 * carries the version it read: replicas ticking together cannot both advance a step.
 */
export class RolloutController {
  readonly #o: RolloutControllerOptions;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(opts: RolloutControllerOptions) {
    this.#o = opts;
  }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.#o.tickMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#ticking;
  }

  /** One pass over the running rollouts; never throws (a failed pass is logged and retried next tick). */
  tick(now = Date.now()): Promise<void> {
    this.#ticking ??= this.#tick(now)
      .catch((err: unknown) => this.#o.log.warn({ err }, 'rollout tick failed; will retry'))
      .finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  async #tick(now: number): Promise<void> {
    await this.#o.state.refreshIfChanged();
    let changed = false;
    for (const r of this.#o.state.rollouts) {
      if (r.status !== 'running') continue;
      const rec = await this.#o.store.getRecord<Rollout>(KINDS.rollout, r.id);
      if (rec?.body.status !== 'running') continue;
      try {
        changed = (await this.#advance(rec, now)) || changed;
      } catch (err) {
        if (!(err instanceof RecordConflictError)) throw err;
      }
    }
    if (changed) await this.#o.state.changed();
  }

  /** Moves one rollout on if it can; true when something that affects assignments was written. */
  async #advance(rec: StoredRecord<Rollout>, now: number): Promise<boolean> {
    const r = structuredClone(rec.body);
    const pin = this.#o.state.pin;
    if (pin) {
      const hold = `the fleet is pinned to ${pin.version}; the rollout waits until the pin is removed`;
      if (r.hold !== hold) await this.#save(rec, { ...r, hold, updatedAt: now });
      return false;
    }
    const instances = await selectedInstances(this.#o.store, r.selector);
    if (instances.length === 0) {
      const hold = 'no instance matches the selector yet';
      if (r.hold !== hold) await this.#save(rec, { ...r, hold, updatedAt: now });
      return false;
    }
    delete r.hold;
    let st = r.stepStates[r.currentStep];
    if (!st) {
      const previous = r.stepStates[r.currentStep - 1]?.cutoff ?? 0;
      const buckets = instances.map((i) => bucketOf(r.id, i.podUid));
      st = { cutoff: cutoffFor(r.steps[r.currentStep]!, buckets, previous), startedAt: now, phase: 'updating', counts: emptyCounts() };
      r.stepStates[r.currentStep] = st;
      st.counts = analyzeStep(r, r.currentStep, instances, now).counts;
      r.updatedAt = now;
      await this.#save(rec, r);
      this.#o.log.info({ rollout: r.id, step: r.currentStep, cutoff: st.cutoff, targeted: st.counts.targeted }, 'rollout step started');
      return true;
    }
    const a = analyzeStep(r, r.currentStep, instances, now);
    st.counts = a.counts;
    const window = parseDuration(r.analysis.window)!;
    const updateTimeout = parseDuration(r.analysis.updateTimeout)!;
    if (a.counts.failed > r.analysis.maxUpdateFailures) return this.#fail(rec, r, judge(r, a, now), a.failedUids, now);
    if (st.phase === 'updating') {
      if (a.counts.targeted > 0 && a.counts.updated + a.counts.failed + a.counts.silent >= a.counts.targeted) {
        st.phase = 'observing';
        st.observingSince = now;
      } else if (now - st.startedAt > updateTimeout) {
        const v = judge(r, a, now);
        if (v.result === 'pass') v.reasons = [];
        v.result = 'fail';
        v.reasons.unshift(`${a.counts.targeted - a.counts.updated - a.counts.failed - a.counts.silent} of ${a.counts.targeted} instance(s) did not report ${r.target} within ${r.analysis.updateTimeout}`);
        return this.#fail(rec, r, v, a.failedUids, now);
      }
    } else if (st.phase === 'observing') {
      if (a.newGroup.crashloop > 0) {
        // A crashlooping worker on the target is the release's own failure, whatever the share: stop now.
        const v = judge(r, a, now);
        if (v.result === 'pass') v.reasons = [];
        v.result = 'fail';
        v.reasons.unshift(`${a.newGroup.crashloop} worker(s) crashlooping on ${r.target}`);
        return this.#fail(rec, r, v, a.failedUids, now);
      }
      if (now - (st.observingSince ?? now) >= window) {
        const v = judge(r, a, now);
        st.verdict = v;
        if (v.result === 'fail') return this.#fail(rec, r, v, a.failedUids, now);
        st.phase = 'passed';
        this.#o.log.info({ rollout: r.id, step: r.currentStep, newGroup: v.newGroup, oldGroup: v.oldGroup }, 'rollout step passed');
        if (r.currentStep >= r.steps.length - 1) {
          r.status = 'succeeded';
          r.reason = `all ${r.steps.length} steps passed`;
        } else r.currentStep++;
        r.updatedAt = now;
        await this.#save(rec, r);
        return true;
      }
    }
    r.updatedAt = now;
    await this.#save(rec, r);
    return false;
  }

  async #fail(rec: StoredRecord<Rollout>, r: Rollout, verdict: Rollout['stepStates'][number]['verdict'] & object, failedUids: string[], now: number): Promise<boolean> {
    const st = r.stepStates[r.currentStep]!;
    st.phase = 'failed';
    st.verdict = verdict;
    r.status = 'failed';
    r.reason = `step ${r.currentStep + 1} failed: ${verdict.reasons.join('; ')}`;
    r.updatedAt = now;
    await this.#save(rec, r);
    this.#o.log.warn({ rollout: r.id, target: r.target, reason: r.reason }, 'rollout failed; its instances go back to their previous release');
    await this.#emit(r, failedUids, now).catch((err: unknown) => this.#o.log.error({ err, rollout: r.id }, 'cannot store the rollout-failed event'));
    return true;
  }

  async #save(rec: StoredRecord<Rollout>, r: Rollout): Promise<void> {
    await this.#o.store.putRecord(KINDS.rollout, r.id, r, { expectedVersion: rec.version });
  }

  async #emit(r: Rollout, failedUids: string[], now: number): Promise<void> {
    const fingerprint = sha256Hex(`rollout/${r.id}`).slice(0, 32);
    const time = new Date(now).toISOString();
    const event = DiagnosisEvent.parse({
      specversion: '1.0', id: randomUUID(), source: this.#o.eventSource, type: 'io.podpulse.rollout.failed', subject: `rollout/${r.id}`, time,
      severity: 'warning', fingerprint, status: 'firing',
      ...(r.selector.app ? { app: r.selector.app } : {}), ...(r.selector.tenant ? { tenant: r.selector.tenant } : {}),
      data: {
        summary: `rollout ${r.id} of worker ${r.target} failed and was rolled back: ${r.reason ?? ''}`.slice(0, 1024),
        evidence: (r.stepStates[r.currentStep]?.verdict?.reasons ?? []).slice(0, 50).map((reason) => ({ kind: 'fleet' as const, subject: `rollout/${r.id}`, value: reason.slice(0, 1024) })),
        instances: failedUids.slice(0, 1000),
        labels: { rollout: r.id, target: r.target, step: String(r.currentStep + 1) },
      },
    });
    await this.#o.store.upsertEvent({
      id: event.id, fingerprint, type: event.type, status: 'firing', severity: 'warning', app: r.selector.app ?? null, tenant: r.selector.tenant ?? null,
      subject: event.subject ?? null, body: event, createdAt: now, updatedAt: now, resolvedAt: null,
    });
  }
}

/** The instances a selector matches now (paged from the store), as the analysis reads them; long-gone pods left out. */
export async function selectedInstances(store: Store, s: RolloutSelector, now = Date.now()): Promise<InstanceView[]> {
  const out: InstanceView[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listInstances({ ...s, limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const i of page.items) {
      if (i.status === 'retired' || i.lastSeen < now - SELECTION_MAX_AGE_MS || !selectorMatches(s, i)) continue;
      out.push({ podUid: i.podUid.toLowerCase(), namespace: i.namespace, app: i.app, tenant: i.tenant, status: i.status, agent: i.agent, lastSeen: i.lastSeen, intervalMs: i.intervalMs });
    }
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

