/** One tracked position in arrival order; `rv` undefined for list items, whose own RVs are not positions. */
export interface WatermarkEntry {
  readonly rv: string | undefined;
  done: boolean;
}

/**
 * The low watermark of one resource type: the resourceVersion of the newest position such that it and every
 * position that arrived before it are done. Positions are tracked in arrival order (the order of the watch
 * stream), so resourceVersions never need to be compared. A watch resumed from the watermark re-delivers at most
 * what was not yet fully processed, and never skips anything.
 */
export class WatermarkTracker {
  #entries: WatermarkEntry[] = [];
  #head = 0;
  #value: string | undefined;

  constructor(initial?: string) {
    this.#value = initial;
  }

  /** The current low watermark (undefined until the first position is done). */
  get value(): string | undefined {
    return this.#value;
  }

  /** Positions not yet passed (done or not). */
  get backlog(): number {
    return this.#entries.length - this.#head;
  }

  track(rv: string | undefined): WatermarkEntry {
    const e: WatermarkEntry = { rv, done: false };
    this.#entries.push(e);
    return e;
  }

  /** A position with no work behind it: a bookmark, or the end of a list. */
  checkpoint(rv: string): void {
    this.track(rv).done = true;
    this.#advance();
  }

  done(e: WatermarkEntry): void {
    e.done = true;
    this.#advance();
  }

  #advance(): void {
    const es = this.#entries;
    let h = this.#head;
    while (h < es.length && es[h]!.done) {
      const rv = es[h]!.rv;
      if (rv !== undefined) this.#value = rv;
      h++;
    }
    if (h === es.length) {
      this.#entries = [];
      this.#head = 0;
    } else if (h > 4096 && h * 2 > es.length) {
      this.#entries = es.slice(h);
      this.#head = 0;
    } else this.#head = h;
  }
}
