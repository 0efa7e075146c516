/** A counting semaphore: at most `size` holders; waiters are served first come, first served. */
export class Semaphore {
  readonly size: number;
  #held = 0;
  readonly #waiters: Array<() => void> = [];

  constructor(size: number) {
    this.size = size;
  }

  get held(): number {
    return this.#held;
  }

  /** Resolves with a release function once a slot is free, or rejects with the signal's reason if it aborts first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#held++;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.#held--;
          this.#waiters.shift()?.();
        });
      };
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(grant);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal?.reason as Error);
      };
      if (this.#held < this.size) grant();
      else {
        this.#waiters.push(grant);
        signal?.addEventListener('abort', onAbort, { once: true });
      }
    });
  }
}
