/**
 * Suspects the ingest path or the network when a large share of the fleet goes quiet at once: pods rarely die
 * together, a load balancer or a collector replica does. While an episode lasts, every instance that goes silent
 * is held (no per-instance event); when it clears, those still silent are released and the others dropped.
 *
 * Memory: one onset per instance at most within the window, and the held set, both bounded by the fleet.
 */
export class MassSilenceDetector {
  private onsets = new Map<string, number>();
  private readonly held = new Set<string>();
  active = false;
  since = 0;
  private readonly share: number;
  private readonly minCount: number;
  private readonly windowMs: number;

  constructor(opts: { share: number; minCount: number; windowMs: number }) {
    this.share = opts.share;
    this.minCount = opts.minCount;
    this.windowMs = opts.windowMs;
  }

  /** An instance went silent at `at`. */
  onSilent(podUid: string, at: number): void {
    this.onsets.set(podUid, at);
    if (this.active) this.held.add(podUid);
  }

  /** An instance was heard from again (or retired): it no longer counts. */
  onHeard(podUid: string): void {
    this.onsets.delete(podUid);
  }

  /** Whether this instance's silence is held back by an episode. */
  holds(podUid: string): boolean {
    return this.active && this.held.has(podUid);
  }

  /** Number of held instances still silent. */
  heldCount(isSilent: (podUid: string) => boolean): number {
    let n = 0;
    for (const uid of this.held) if (isSilent(uid)) n++;
    return n;
  }

  /**
   * Re-evaluates at `now` against `activeCount` (live, non-retired instances). Starts an episode when the
   * onsets within the window exceed the share and the minimum; clears it when fewer than half of that many held
   * instances are still silent, returning the ones to release.
   */
  evaluate(now: number, activeCount: number, isSilent: (podUid: string) => boolean): { started?: number; cleared?: string[] } {
    for (const [uid, at] of this.onsets) if (now - at > this.windowMs) this.onsets.delete(uid);
    const needed = Math.max(this.minCount, this.share * activeCount);
    if (!this.active) {
      if (this.onsets.size < needed || this.onsets.size <= this.share * activeCount) return {};
      this.active = true;
      this.since = now;
      for (const uid of this.onsets.keys()) this.held.add(uid);
      return { started: this.onsets.size };
    }
    const still = this.heldCount(isSilent);
    if (still >= needed / 2) return {};
    const released = [...this.held].filter(isSilent);
    this.active = false;
    this.held.clear();
    return { cleared: released };
  }

  /** Forgets an instance entirely. */
  forget(podUid: string): void {
    this.onsets.delete(podUid);
    this.held.delete(podUid);
  }
}
