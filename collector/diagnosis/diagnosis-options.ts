import { ms } from '../../src/units.ts';
import type { CollectorConfig } from '../config.ts';
import type { DiagnosisOptionsInput } from './diagnosis-config.ts';
import type { KubeFacts } from './kube-facts.ts';

/** The collector config's `diagnosis` and `events` sections as the Diagnoser's options (durations in milliseconds). */
export function diagnosisOptions(config: Pick<CollectorConfig, 'diagnosis' | 'events'>, kube: KubeFacts): DiagnosisOptionsInput {
  const d = config.diagnosis;
  return {
    checks: { forMs: ms(d.checks.for), resolveForMs: ms(d.checks.resolveFor) },
    silent: { intervalMultiplier: d.silent.intervalMultiplier, minThresholdMs: ms(d.silent.minThreshold), forMs: ms(d.silent.for) },
    probeBroken: { forMs: ms(d.probeBroken.for), resolveForMs: ms(d.probeBroken.resolveFor) },
    flap: { maxTransitions: d.flap.maxTransitions, windowMs: ms(d.flap.window), calmMs: ms(d.flap.calm), forMs: ms(d.flap.for) },
    replay: { maxAgeMs: ms(d.replayMaxAge) },
    group: { minInstances: d.groupMinInstances },
    massSilence: { share: d.massSilence.share, minCount: d.massSilence.minCount, windowMs: ms(d.massSilence.window) },
    forget: { retiredMs: ms(d.forget.retired), silentMs: ms(d.forget.silent) },
    events: { source: config.events.source, updateMinIntervalMs: ms(config.events.updateMinInterval) },
    nodeZones: d.nodeZones,
    kube,
  };
}
