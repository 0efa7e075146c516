import type { ObjectEvent, ObjectEventSink } from '../../../collector/engine/kube/object-event.ts';

/** An ObjectEventSink that records what it is given; `gate` holds handling until opened (to make work pile up). */
export class RecordingSink implements ObjectEventSink {
  readonly events: ObjectEvent[] = [];
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  /** Called with each event before it is recorded; throwing makes handling fail. */
  onEvent: ((e: ObjectEvent) => void) | undefined;

  async handle(event: ObjectEvent): Promise<void> {
    if (this.#gate) await this.#gate;
    this.onEvent?.(event);
    this.events.push(event);
  }

  close(): void {
    this.#gate ??= new Promise((resolve) => (this.#open = resolve));
  }

  open(): void {
    this.#open?.();
    this.#gate = undefined;
    this.#open = undefined;
  }

  /** `TYPE key` lines, in delivery order. */
  summary(): string[] {
    return this.events.map((e) => `${e.type} ${e.key}`);
  }

  of(key: string): ObjectEvent[] {
    return this.events.filter((e) => e.key === key);
  }

  clear(): void {
    this.events.length = 0;
  }
}

export async function waitFor(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
