import type { z } from 'zod';
import type { CheckKind, Evidence, Instance } from '../../src/protocol/index.ts';
import type { AlertChange } from './alert-timer.ts';
import type { CheckTarget } from './target-key.ts';

export type EvidenceItem = z.output<typeof Evidence>;

/** What an instance-level problem is about. */
export type ProblemKind = 'check' | 'flapping' | 'silent' | 'probe-broken';

/**
 * A condition on one instance that may become an event: the instance layer reports its changes, the fleet
 * correlator decides whether it is announced on its own, folded into a group, or held.
 */
export interface Problem {
  /** `kind:podUid` or `kind:podUid:checkId`; unique among open problems. */
  key: string;
  kind: ProblemKind;
  podUid: string;
  instance: Instance;
  severity: 'warning' | 'critical';
  /** When the condition began (epoch ms). */
  since: number;
  summary: string;
  code?: string;
  checkId?: string;
  checkKind?: CheckKind;
  /** Set for `check` problems: the dependency and the grouping key. */
  target?: CheckTarget;
  evidence: EvidenceItem[];
}

/** A problem's lifecycle step; `update` is new content (code, severity, message) while it is open. */
export interface ProblemChange {
  op: AlertChange | 'update';
  problem: Problem;
  at: number;
}
