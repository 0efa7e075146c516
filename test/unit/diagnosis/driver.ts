import { expect } from 'vitest';
import { Diagnoser } from '../../../collector/diagnosis/diagnoser.ts';
import type { DiagnosisOptionsInput } from '../../../collector/diagnosis/diagnosis-config.ts';
import type { DiagnosisResult } from '../../../collector/diagnosis/diagnoser.ts';
import type { Transition } from '../../../collector/diagnosis/transition.ts';
import { DiagnosisEvent, Heartbeat, type CheckResult } from '../../../src/protocol/index.ts';
import { heartbeat, type HeartbeatOverrides } from '../../helpers/heartbeat-factory.ts';

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** A deterministic pod uid (valid UUIDv4 shape), so fingerprints are the same on every run. */
export const uid = (i: number): string => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

interface Pod {
  base: HeartbeatOverrides;
  bootId: string;
  seq: number;
  offsetMs: number;
}

/**
 * Drives a Diagnoser through simulated time: pods beat every interval (staggered by their offset), the diagnoser
 * ticks every second, and every transition and event is collected. Every heartbeat sent and every event emitted
 * is validated against the protocol schemas.
 */
export class Driver {
  now = T0;
  readonly d: Diagnoser;
  readonly transitions: Transition[] = [];
  readonly events: DiagnosisEvent[] = [];
  private readonly pods = new Map<string, Pod>();

  constructor(opts: DiagnosisOptionsInput = {}) {
    this.d = new Diagnoser(opts);
  }

  /** Registers pod number `i` (it sends nothing until `beat` or `run`). */
  pod(i: number, overrides: HeartbeatOverrides = {}, offsetMs = 0): string {
    const podUid = uid(i);
    this.pods.set(podUid, { base: { ...overrides, instance: { ...overrides.instance, podUid } }, bootId: uid(1_000_000 + i), seq: 0, offsetMs });
    return podUid;
  }

  /** Sends one live heartbeat from a pod now. */
  beat(podUid: string, checks: CheckResult[], extra: HeartbeatOverrides = {}): Heartbeat {
    const p = this.pods.get(podUid)!;
    const hb = this.build(p, checks, extra, this.now);
    this.collect(this.d.observe([hb], this.now));
    return hb;
  }

  /** Builds a heartbeat of a pod as sent at `sentAt` (for replays), without sending it. */
  build(p: Pod | string, checks: CheckResult[], extra: HeartbeatOverrides, sentAt: number): Heartbeat {
    const pod = typeof p === 'string' ? this.pods.get(p)! : p;
    const hb = heartbeat({ ...pod.base, bootId: pod.bootId, seq: pod.seq++, sentAt: new Date(sentAt).toISOString(), checks, ...extra, instance: { ...pod.base.instance, ...extra.instance } });
    expect(Heartbeat.safeParse(hb).success).toBe(true);
    return hb;
  }

  /**
   * Advances `ms` in 1 s steps. At each step every pod whose interval is due sends a heartbeat with the checks
   * `checksOf` gives (null: it stays quiet), then the diagnoser ticks.
   */
  run(ms: number, checksOf: (podUid: string, t: number) => CheckResult[] | null): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += 1000;
      const due: Heartbeat[] = [];
      for (const [podUid, p] of this.pods) {
        const interval = p.base.intervalMs ?? 10_000;
        if ((this.now - T0 - p.offsetMs) % interval !== 0) continue;
        const checks = checksOf(podUid, this.now);
        if (checks) due.push(this.build(p, checks, {}, this.now));
      }
      if (due.length > 0) this.collect(this.d.observe(due, this.now));
      this.collect(this.d.tick(this.now));
    }
  }

  collect(r: DiagnosisResult): void {
    for (const e of r.events) {
      const parsed = DiagnosisEvent.safeParse(e);
      if (!parsed.success) throw new Error(`invalid event ${JSON.stringify(e)}: ${parsed.error.message}`);
    }
    this.transitions.push(...r.transitions);
    this.events.push(...r.events);
  }

  /** Events of a type (short name), optionally in one status. */
  of(type: string, status?: DiagnosisEvent['status']): DiagnosisEvent[] {
    return this.events.filter((e) => e.type === `io.podpulse.${type}` && (status === undefined || e.status === status));
  }
}
