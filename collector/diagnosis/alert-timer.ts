import type { AlertTiming } from './diagnosis-config.ts';

/** Where one watched condition is: not holding, holding but not yet for long enough, or firing. */
export type AlertPhase = 'inactive' | 'pending' | 'firing';

/**
 * What changed: `start` (pending), `fire`, `resolve` (was firing, clear for the resolve duration) or `cancel`
 * (cleared while still pending: nothing was ever announced).
 */
export type AlertChange = 'start' | 'fire' | 'resolve' | 'cancel';

/**
 * The `for` + hysteresis machine of one condition (a check, silence, a broken probe). Time is passed in, so the
 * same inputs always give the same changes.
 */
export class AlertTimer {
  phase: AlertPhase = 'inactive';
  /** When the condition began to hold (valid while pending or firing). */
  badSince = 0;
  /** While firing: when the condition stopped holding, if it has. */
  clearSince: number | undefined;

  /**
   * Feeds one observation. `bad` undefined means "cannot tell" (a check answering `unknown`): the phase holds,
   * neither starting nor resolving anything.
   */
  observe(bad: boolean | undefined, at: number, timing: AlertTiming): AlertChange[] {
    if (bad === undefined) return [];
    if (bad) {
      this.clearSince = undefined;
      if (this.phase !== 'inactive') return this.phase === 'pending' ? this.tickList(at, timing) : [];
      this.phase = 'pending';
      this.badSince = at;
      return ['start', ...this.tickList(at, timing)];
    }
    if (this.phase === 'pending') {
      this.phase = 'inactive';
      return ['cancel'];
    }
    if (this.phase === 'firing') {
      this.clearSince ??= at;
      return this.tickList(at, timing);
    }
    return [];
  }

  /** Advances time: pending → firing once `forMs` passed; firing → resolved once clear for `resolveForMs`. */
  tick(now: number, timing: AlertTiming): AlertChange | undefined {
    if (this.phase === 'pending' && now - this.badSince >= timing.forMs) {
      this.phase = 'firing';
      return 'fire';
    }
    if (this.phase === 'firing' && this.clearSince !== undefined && now - this.clearSince >= timing.resolveForMs) {
      this.phase = 'inactive';
      this.clearSince = undefined;
      return 'resolve';
    }
    return undefined;
  }

  /** Ends the condition at once, whatever the hysteresis (instance retired, check removed from the config). */
  reset(): AlertChange | undefined {
    const was = this.phase;
    this.phase = 'inactive';
    this.clearSince = undefined;
    return was === 'firing' ? 'resolve' : was === 'pending' ? 'cancel' : undefined;
  }

  private tickList(at: number, timing: AlertTiming): AlertChange[] {
    const c = this.tick(at, timing);
    return c ? [c] : [];
  }
}
