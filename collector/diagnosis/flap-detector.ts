/**
 * Counts status transitions of one check in a sliding window. Memory is bounded: it keeps at most
 * `maxTransitions + 1` timestamps, which is all it needs to know whether the window holds more than the maximum.
 */
export class FlapDetector {
  /** Allocated on the first transition: most checks never change status, and there are 14 per instance. */
  private times: number[] | undefined;
  flapping = false;
  lastTransitionAt = 0;

  /**
   * Records a transition at `at`. Returns true when this transition starts a flapping episode (more than
   * maxTransitions within windowMs).
   */
  record(at: number, maxTransitions: number, windowMs: number): boolean {
    this.lastTransitionAt = at;
    const times = (this.times ??= []);
    times.push(at);
    if (times.length > maxTransitions + 1) times.shift();
    if (this.flapping) return false;
    const first = times[0];
    if (times.length > maxTransitions && first !== undefined && at - first <= windowMs) {
      this.flapping = true;
      return true;
    }
    return false;
  }

  /** Returns true when a flapping episode ends: no transition for calmMs. */
  calmed(now: number, calmMs: number): boolean {
    if (!this.flapping || now - this.lastTransitionAt < calmMs) return false;
    this.flapping = false;
    this.times = undefined;
    return true;
  }
}
