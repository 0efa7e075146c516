import type { Heartbeat } from '../../src/protocol/index.ts';
import type { DiagnosisResult, Diagnoser } from './diagnoser.ts';

/** What the ingest path and the timer call. Times are epoch milliseconds (a Date is accepted too). */
export interface DiagnosisSeam {
  /** After a batch of heartbeats committed to the store. */
  onCommitted(heartbeats: readonly Heartbeat[], receivedAt: number | Date): void;
  /** From a timer, about once a second (the precision of `for` durations and silence). */
  tick(now: number | Date): void;
}

/**
 * Connects a Diagnoser to the collector: results that carry something (transitions to store, events to store and
 * send) go to `deliver`. A bug in the diagnosis must not fail the ingest of heartbeats that are already committed,
 * so an exception goes to `onError` (to be logged with its stack) instead of up the ingest path.
 */
export function diagnosisSeam(d: Diagnoser, deliver: (r: DiagnosisResult) => void, onError: (err: unknown) => void): DiagnosisSeam {
  const ms = (t: number | Date): number => (typeof t === 'number' ? t : t.getTime());
  const run = (f: () => DiagnosisResult): void => {
    let r: DiagnosisResult;
    try {
      r = f();
    } catch (err) {
      onError(err);
      return;
    }
    if (r.transitions.length > 0 || r.events.length > 0) deliver(r);
  };
  return {
    onCommitted: (heartbeats, receivedAt) => run(() => d.observe(heartbeats, ms(receivedAt))),
    tick: (now) => run(() => d.tick(ms(now))),
  };
}
