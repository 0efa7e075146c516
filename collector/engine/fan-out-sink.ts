import type { ObjectEvent, ObjectEventSink } from './kube/object-event.ts';

/**
 * Hands each event to several sinks (one Pod reflector feeds the rule engine and the facts index). The event is
 * processed, and the watermark may pass it, only when every sink has processed it.
 */
export class FanOutSink implements ObjectEventSink {
  readonly #sinks: () => readonly ObjectEventSink[];

  /** `sinks` is asked per event: the rule engine comes and goes with leadership and rule changes. */
  constructor(sinks: () => readonly ObjectEventSink[]) {
    this.#sinks = sinks;
  }

  async handle(event: ObjectEvent): Promise<void> {
    const sinks = this.#sinks();
    if (sinks.length === 1) return sinks[0]!.handle(event);
    await Promise.all(sinks.map((s) => s.handle(event)));
  }
}
