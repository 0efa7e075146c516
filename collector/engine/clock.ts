/** A one-shot timer that can be cancelled. */
export interface TimerHandle {
  cancel(): void;
}

/** Time for the engine: the system clock in production, a manual one in tests (300 s of `duration` in no time). */
export interface Clock {
  now(): number;
  /** Calls `fn` once at (or soon after) epoch ms `at`. */
  at(at: number, fn: () => void): TimerHandle;
}

/** Node's timers cap a delay at 2^31-1 ms; longer waits re-arm. */
const MAX_DELAY = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  at(at, fn) {
    let t: NodeJS.Timeout;
    const arm = (): void => {
      const delay = at - Date.now();
      t = setTimeout(delay > MAX_DELAY ? arm : fn, Math.max(0, Math.min(delay, MAX_DELAY)));
      t.unref();
    };
    arm();
    return { cancel: () => clearTimeout(t) };
  },
};

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

/**
 * A clock that moves only when told. `advance` runs the timers that fall due in time order, setting `now` to each
 * one's time as it runs, and lets the promises they start settle in between, as the real event loop would.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  at(at: number, fn: () => void): TimerHandle {
    const p: Pending = { at, seq: this.#seq++, fn, live: true };
    this.#timers.push(p);
    return { cancel: () => void (p.live = false) };
  }

  /** Timers not yet run nor cancelled. */
  get pending(): number {
    return this.#timers.filter((t) => t.live).length;
  }

  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      await settle();
      this.#timers = this.#timers.filter((t) => t.live);
      const due = this.#timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      due.live = false;
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = until;
    await settle();
  }
}

/** Lets queued promise callbacks and I/O completions run (a store write, a chained evaluation). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
