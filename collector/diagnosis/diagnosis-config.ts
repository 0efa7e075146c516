import type { CheckKind } from '../../src/protocol/index.ts';
import type { KubeFacts } from './kube-facts.ts';

/** How long a condition must hold before its event fires (`forMs`) and how long it must be clear before it resolves. */
export interface AlertTiming {
  forMs: number;
  resolveForMs: number;
}

/**
 * Every knob of the diagnosis, in milliseconds. `resolveDiagnosisOptions` fills what a caller leaves out; the
 * collector's config file maps onto this shape.
 */
export interface DiagnosisOptions {
  /** Check events: a default timing, overridden per check kind, then per check id (the most specific wins). */
  checks: AlertTiming & { byKind: Partial<Record<CheckKind, Partial<AlertTiming>>>; byId: Record<string, Partial<AlertTiming>> };
  /** An instance is silent after max(intervalMultiplier × its interval, minThresholdMs) without a heartbeat. */
  silent: { intervalMultiplier: number; minThresholdMs: number; forMs: number };
  /** Breaker open, worker crashloop, update failed. */
  probeBroken: AlertTiming;
  /**
   * More than maxTransitions status changes of one check within windowMs: flapping, until calm for calmMs. The
   * flapping event fires forMs after detection, so instances flapping on one dependency a heartbeat apart group.
   */
  flap: { maxTransitions: number; windowMs: number; calmMs: number; forMs: number };
  /** A heartbeat sent more than max(silent threshold, maxAgeMs) before it arrived is a replay: history only. */
  replay: { maxAgeMs: number };
  /** A dependency group forms once this many instances fail the same target. */
  group: { minInstances: number };
  /** More than `share` of active instances (and at least minCount) silent within windowMs: suspect the ingest path. */
  massSilence: { share: number; minCount: number; windowMs: number };
  /** Forget instances: retired ones after retiredMs, silent ones after silentMs (their open events resolve). */
  forget: { retiredMs: number; silentMs: number };
  /** CloudEvents `source`; a firing event's content updates are emitted at most once per updateMinIntervalMs. */
  events: { source: string; updateMinIntervalMs: number };
  /** Node name → zone, for naming the common factor of a group; Kubernetes node facts can supply it too. */
  nodeZones: Readonly<Record<string, string>>;
  /** Kubernetes state; defaults to knowing nothing (every answer "unknown"). */
  kube: KubeFacts | undefined;
}

/** What a caller may pass: any subset, nested. */
export type DiagnosisOptionsInput = { [K in Exclude<keyof DiagnosisOptions, 'kube' | 'nodeZones'>]?: Partial<DiagnosisOptions[K]> } & {
  kube?: KubeFacts;
  nodeZones?: Readonly<Record<string, string>>;
};

export const DIAGNOSIS_DEFAULTS: DiagnosisOptions = {
  checks: { forMs: 30_000, resolveForMs: 30_000, byKind: {}, byId: {} },
  silent: { intervalMultiplier: 3, minThresholdMs: 30_000, forMs: 30_000 },
  probeBroken: { forMs: 30_000, resolveForMs: 30_000 },
  flap: { maxTransitions: 6, windowMs: 5 * 60_000, calmMs: 5 * 60_000, forMs: 15_000 },
  replay: { maxAgeMs: 60_000 },
  group: { minInstances: 3 },
  massSilence: { share: 0.3, minCount: 10, windowMs: 60_000 },
  forget: { retiredMs: 5 * 60_000, silentMs: 60 * 60_000 },
  events: { source: '/podpulse/collector', updateMinIntervalMs: 60_000 },
  nodeZones: {},
  kube: undefined,
};

/** Defaults merged with the given subset, one level deep. */
export function resolveDiagnosisOptions(input: DiagnosisOptionsInput = {}): DiagnosisOptions {
  const d = DIAGNOSIS_DEFAULTS;
  return {
    checks: { ...d.checks, ...input.checks },
    silent: { ...d.silent, ...input.silent },
    probeBroken: { ...d.probeBroken, ...input.probeBroken },
    flap: { ...d.flap, ...input.flap },
    replay: { ...d.replay, ...input.replay },
    group: { ...d.group, ...input.group },
    massSilence: { ...d.massSilence, ...input.massSilence },
    forget: { ...d.forget, ...input.forget },
    events: { ...d.events, ...input.events },
    nodeZones: { ...d.nodeZones, ...input.nodeZones },
    kube: input.kube ?? d.kube,
  };
}

/** The timing for one check: per-id beats per-kind beats the default. */
export function checkTiming(opts: DiagnosisOptions, kind: CheckKind, id: string): AlertTiming {
  return { forMs: opts.checks.forMs, resolveForMs: opts.checks.resolveForMs, ...opts.checks.byKind[kind], ...opts.checks.byId[id] };
}

/** How long an instance with this heartbeat interval may stay quiet before it is silent. */
export function silentThreshold(opts: DiagnosisOptions, intervalMs: number): number {
  return Math.max(opts.silent.intervalMultiplier * intervalMs, opts.silent.minThresholdMs);
}
