/**
 * Exponential backoff with jitter: each failure doubles the ceiling (initial → max) and the wait is drawn from
 * [ceiling/2, ceiling], so many reflectors failing together do not come back in lockstep.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  #failures = 0;

  constructor(initialMs: number, maxMs: number) {
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
  }

  get failures(): number {
    return this.#failures;
  }

  /** The delay before the next attempt; counts a failure. */
  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  reset(): void {
    this.#failures = 0;
  }
}

/** Sleeps `ms`, or less if the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
